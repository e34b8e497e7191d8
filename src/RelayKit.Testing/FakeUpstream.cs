using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.Testing.Faults;
using RelayKit.Testing.Generation;
using RelayKit.Testing.Hosting;
using RelayKit.Testing.State;

namespace RelayKit.Testing;

/// <summary>
/// A fake upstream that speaks the OpenAI and Anthropic wire formats: scripted answers
/// (<see cref="Setup"/>), generated answers when nothing is scripted, scripted faults, and a record
/// of every request it received (<see cref="Requests"/>). Run it in memory with
/// <see cref="CreateHandler"/>, on a loopback port with <see cref="StartAsync"/>, or inside an app
/// with <see cref="FakeUpstreamEndpointRouteBuilderExtensions.MapFakeUpstream"/>.
/// </summary>
/// <example>
/// <code>
/// await using var fake = new FakeUpstream();
/// fake.Setup().ForModel("gpt-*").WhenLastUserMessageContains("weather").RespondWithToolCall("get_weather", """{"city":"Paris"}""");
/// var client = new OpenAIClient(new ApiKeyCredential("test"), new OpenAIClientOptions
/// {
///     Endpoint = new Uri(fake.CreateClient().BaseAddress!, "v1"),
///     Transport = new HttpClientPipelineTransport(fake.CreateClient()),
/// });
/// </code>
/// </example>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<FakeRule> _rules = [];
    private readonly List<FakeRequest> _requests = [];
    private readonly FakeUpstreamHandler _handler;
    private WebApplication? _inMemory;
    private WebApplication? _kestrel;
    private int _idSeeds;

    /// <summary>Creates a fake upstream.</summary>
    /// <param name="options">Its settings; defaults when <see langword="null"/>.</param>
    public FakeUpstream(FakeUpstreamOptions? options = null)
    {
        Options = options ?? new FakeUpstreamOptions();
        Generator = new AnswerGenerator(Options);
        RateLimits = new RateLimitWindow(Options);
        Store = new AnswerStore(Options.MaxStoredAnswers);
        State = new StoredStateHandler(this);
        _handler = new FakeUpstreamHandler(this);
        Cassette = Options.Cassette is { } cassette ? new Cassette(cassette, Options.TimeProvider) : null;
    }

    /// <summary>The fake's settings.</summary>
    public FakeUpstreamOptions Options { get; }

    /// <summary>The cassette in use when <see cref="FakeUpstreamOptions.Cassette"/> is set: what it replayed, recorded and missed.</summary>
    public Cassette? Cassette { get; }

    /// <summary>The base address of the loopback server once <see cref="StartAsync"/> has run, such as <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri? BaseAddress { get; private set; }

    /// <summary>Every request received so far, in order.</summary>
    public IReadOnlyList<FakeRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>
    /// The chat completions (created with <c>store: true</c>) and responses (created without <c>store: false</c>) the
    /// fake keeps, oldest first, as the stored-state endpoints serve them: at most
    /// <see cref="FakeUpstreamOptions.MaxStoredAnswers"/>, the oldest forgotten first. <see cref="Reset"/> forgets them all.
    /// </summary>
    public IReadOnlyList<FakeStoredAnswer> StoredAnswers => Store.Snapshot();

    /// <summary>The requests no script rule matched while <see cref="FakeUpstreamOptions.RequireScript"/> was on.</summary>
    public IReadOnlyList<FakeRequest> UnexpectedRequests => Requests.Where(r => r.WasUnexpected).ToList();

    internal AnswerGenerator Generator { get; }

    internal RateLimitWindow RateLimits { get; }

    internal AnswerStore Store { get; }

    internal StoredStateHandler State { get; }

    /// <summary>
    /// Adds a script rule. Rules are tried in the order they were added; the first that matches a
    /// request and has answers left answers it. A request no rule matches gets a generated answer.
    /// </summary>
    /// <returns>The new rule, to narrow and configure.</returns>
    public FakeRule Setup()
    {
        lock (_gate)
        {
            var rule = new FakeRule(_rules.Count + 1);
            _rules.Add(rule);
            return rule;
        }
    }

    /// <summary>Forgets every rule, every recorded request and every stored chat completion and response.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _rules.Clear();
            _requests.Clear();
        }

        Store.Clear();
    }

    /// <summary>
    /// An in-memory handler (no sockets) that serves this fake, for <c>HttpClient</c>s, SDK transports,
    /// or a relay's upstream client in <c>WebApplicationFactory</c> tests. Base address: <c>http://fake-upstream/</c>.
    /// </summary>
    public HttpMessageHandler CreateHandler() => new InMemoryResetHandler(InMemoryServer().CreateHandler());

    /// <summary>An <see cref="HttpClient"/> over <see cref="CreateHandler"/> whose base address is <c>http://fake-upstream/</c>.</summary>
    public HttpClient CreateClient() => new(CreateHandler()) { BaseAddress = new Uri("http://fake-upstream/") };

    /// <summary>Starts a Kestrel server on a free loopback port (idempotent).</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The base address, such as <c>http://127.0.0.1:5123/</c>.</returns>
    public async Task<Uri> StartAsync(CancellationToken cancellationToken = default)
    {
        if (BaseAddress is not null)
        {
            return BaseAddress;
        }

        var builder = CreateHostBuilder();
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(ServeAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _kestrel = app;
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return BaseAddress;
    }

    /// <summary>Stops the servers the fake started.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Cassette is not null)
        {
            // A recording is written after its answer reached the caller; let answers in flight finish
            // writing, so a replay started right after this fake is gone finds them on disk.
            var inFlight = Requests.Select(r => r.Completion).Where(t => !t.IsCompleted).ToArray();
            if (inFlight.Length > 0)
            {
                await Task.WhenAny(Task.WhenAll(inFlight), Task.Delay(TimeSpan.FromSeconds(10), TimeProvider.System));
            }
        }

        if (_kestrel is not null)
        {
            await _kestrel.DisposeAsync();
        }

        if (_inMemory is not null)
        {
            await _inMemory.DisposeAsync();
        }

        Cassette?.Dispose();
    }

    internal Task HandleAsync(HttpContext context, string path) => _handler.HandleAsync(context, path);

    /// <summary>
    /// The fake's own hosts (in memory and Kestrel) answer every path, so they hand each request straight to the
    /// handler instead of through endpoint routing, which cost more than a generated answer (see bench/README.md).
    /// </summary>
    private Task ServeAsync(HttpContext context) => HandleAsync(context, context.Request.Path.HasValue ? context.Request.Path.Value! : "/");

    internal FakeRequest Record(FakeRequest request)
    {
        lock (_gate)
        {
            var stored = new FakeRequest
            {
                Sequence = _requests.Count + 1,
                ReceivedAt = request.ReceivedAt,
                Method = request.Method,
                Path = request.Path,
                Headers = request.Headers,
                RawBody = request.RawBody,
                Body = request.Body,
                Endpoint = request.Endpoint,
                WireFormat = request.WireFormat,
                Model = request.Model,
                IsStreaming = request.IsStreaming,
                IncludeUsage = request.IncludeUsage,
                LastUserMessage = request.LastUserMessage,
                SystemPrompt = request.SystemPrompt,
                Tools = request.Tools,
                ForcedToolName = request.ForcedToolName,
                RequiresToolCall = request.RequiresToolCall,
                MaxOutputTokens = request.MaxOutputTokens,
                EmbeddingInputs = request.EmbeddingInputs,
                PromptText = request.PromptText,
                OutputSchema = request.OutputSchema,
                IsOutputSchemaStrict = request.IsOutputSchemaStrict,
                RequiresJsonOutput = request.RequiresJsonOutput,
                ChoiceCount = request.ChoiceCount,
                TopLogprobs = request.TopLogprobs,
                RequestsThinking = request.RequestsThinking,
                ThinkingBudgetTokens = request.ThinkingBudgetTokens,
                OmitsThinkingText = request.OmitsThinkingText,
            };
            _requests.Add(stored);
            return stored;
        }
    }

    /// <summary>
    /// The rule that answers <paramref name="request"/>, if any; with <paramref name="faultsOnly"/> only rules with a
    /// fault take part (a model list or model request is answered by a rule only through its fault: a scripted reply is
    /// a completion's), and the others neither see nor count the request.
    /// </summary>
    internal FakeRule? FindRule(FakeRequest request, bool faultsOnly = false)
    {
        // Every rule observes every request (so OnCall counts all matching calls); the first willing one
        // answers. One lock around both keeps concurrent requests from overrunning a Times limit.
        lock (_gate)
        {
            FakeRule? chosen = null;
            foreach (var rule in _rules)
            {
                if ((!faultsOnly || rule.Fault is not null) && rule.Observe(request) && chosen is null)
                {
                    chosen = rule;
                }
            }

            chosen?.Claim();
            return chosen;
        }
    }

    internal string DescribeRules()
    {
        lock (_gate)
        {
            return _rules.Count == 0 ? "none" : string.Join("; ", _rules);
        }
    }

    internal IdSource NewIdSource() => new(StableHash.Of(Options.Seed, "ids", Interlocked.Increment(ref _idSeeds).ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>
    /// The fake's own host, built empty: it reads no appsettings.json, environment variables or command line of
    /// the app or test run it sits in (a <c>Kestrel:Endpoints</c> or <c>urls</c> setting there must not move the
    /// fake), logs nothing, and sets no file watcher on the working directory (which would wake on every write
    /// under it, a database file's included).
    /// </summary>
    private static WebApplicationBuilder CreateHostBuilder()
    {
        return WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
    }

    private TestServer InMemoryServer()
    {
        lock (_gate)
        {
            if (_inMemory is null)
            {
                var builder = CreateHostBuilder();
                builder.WebHost.UseTestServer(o => o.BaseAddress = new Uri("http://fake-upstream/"));
                var app = builder.Build();
                app.Run(ServeAsync);
                app.StartAsync().GetAwaiter().GetResult();
                _inMemory = app;
            }

            return (TestServer)_inMemory.Services.GetRequiredService<IServer>();
        }
    }
}
