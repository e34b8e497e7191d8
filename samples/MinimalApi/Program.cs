// The relay on the embedded fake upstream: `dotnet run --project samples/MinimalApi` needs no configuration.
//
// Where each provider goes, in order:
//   1. ModelRelay:Providers:<name>:BaseUrl if it is configured (appsettings, environment, --ModelRelay:... on the command line);
//   2. the official API when OPENAI_API_KEY / ANTHROPIC_API_KEY is set;
//   3. otherwise the fake upstream (RelayKit.Testing), in this process: the relay reaches it through an
//      in-memory handler, so no port is opened and nothing leaves the machine.
//
// With no key configured (ModelRelay:Keys), the sample adds its development key with a small trial credit, so the
// budget, the cost headers, the estimate and the status page's prices all show on the first run. A key configured
// anywhere replaces it, and its secret is never printed. The SQLite ledger and usage files go where the relay puts them
// by default (unless their paths are configured): the per-user data folder, outside the content root the host watches.
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.AI;
using RelayKit.AspNetCore;
using RelayKit.Samples.MinimalApi;
using RelayKit.Testing;

var builder = WebApplication.CreateBuilder(args);

await using var fake = new FakeUpstream();
var routes = new List<string>();
var faked = new HashSet<string>(StringComparer.Ordinal);

// Decided before the app is built: the fake is not a host of its own (a second host built while
// WebApplicationFactory<Program> watches for the app's would be taken over by the test server).
RouteProvider("openai", "OPENAI_API_KEY", "https://api.openai.com/v1", "http://embedded-fake-upstream/v1");
RouteProvider("anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com", "http://embedded-fake-upstream/");
var developmentKey = AddDevelopmentKeyUnlessKeysAreConfigured();
var dataFolder = Path.Combine(
    Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
    "RelayKit",
    builder.Environment.ApplicationName);
builder.Services.AddSingleton(new QuickStart(routes, developmentKey, dataFolder));

// The two lines that make any ASP.NET Core app a model relay; the app's own clients for two models of
// different providers go through it in-process (under the relay key "app"), or straight to the
// providers with ModelRelay:Enabled=false.
builder.Services.AddModelRelay()
    .AddChatClient("gpt-5.5")
    .AddChatClient("claude-code-opus-4.8")
    .ConfigureUpstreamHandler((_, provider) => faked.Contains(provider) ? fake.CreateHandler() : null);
var app = builder.Build();
app.MapModelRelay();

// The app itself: one question, two models, one client type.
app.MapGet("/ask", async (
    string q,
    [FromKeyedServices("gpt-5.5")] IChatClient gpt,
    [FromKeyedServices("claude-code-opus-4.8")] IChatClient claude,
    CancellationToken cancellationToken) =>
{
    var answers = await Task.WhenAll(gpt.GetResponseAsync(q, cancellationToken: cancellationToken), claude.GetResponseAsync(q, cancellationToken: cancellationToken));
    return new AskAnswers(q, answers[0].Text, answers[1].Text);
});

await app.StartAsync();
app.Services.GetRequiredService<QuickStart>().Write(Console.Out, BaseUrl(app), app.Configuration);
await app.WaitForShutdownAsync();

void RouteProvider(string provider, string keyVariable, string officialBaseUrl, string fakeBaseUrl)
{
    var section = $"ModelRelay:Providers:{provider}";
    if (builder.Configuration[$"{section}:BaseUrl"] is { Length: > 0 } configured)
    {
        routes.Add($"{provider,-10} -> {Shown(configured)} (configured)");
        return;
    }

    var settings = new Dictionary<string, string?>();
    if (Environment.GetEnvironmentVariable(keyVariable) is { Length: > 0 } apiKey)
    {
        settings[$"{section}:BaseUrl"] = officialBaseUrl;
        settings[$"{section}:ApiKey"] = apiKey;
        routes.Add($"{provider,-10} -> {officialBaseUrl} (key from {keyVariable}: real requests, real costs)");
    }
    else
    {
        settings[$"{section}:BaseUrl"] = fakeBaseUrl;
        faked.Add(provider);
        routes.Add($"{provider,-10} -> embedded fake upstream, in process (set {keyVariable} for the real API)");
    }

    builder.Configuration.AddInMemoryCollection(settings);
}

// The built-in key exists only while no key is configured: a deployed copy of the sample with its own keys does
// not keep a key everyone knows. Its budget is a trial credit (credited once, on first use, in the ledger).
string? AddDevelopmentKeyUnlessKeysAreConfigured()
{
    if (builder.Configuration.GetSection("ModelRelay:Keys").GetChildren().Any())
    {
        return null;
    }

    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ModelRelay:Keys:0:Name"] = "dev",
        ["ModelRelay:Keys:0:Secret"] = DevelopmentKey.Secret,
        ["ModelRelay:Keys:0:Budget"] = DevelopmentKey.TrialCredit,
    });
    return DevelopmentKey.Secret;
}

static string BaseUrl(WebApplication app)
{
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
        ?? "http://localhost:5000";
    return address.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).TrimEnd('/');
}

// A configured address without what may be a credential in it (user:password@, a ?key= query): it is printed.
static string Shown(string url) =>
    Uri.TryCreate(url, UriKind.Absolute, out var uri)
        ? uri.GetComponents(UriComponents.Scheme | UriComponents.Host | UriComponents.Port | UriComponents.Path, UriFormat.UriEscaped)
        : "(not an absolute URL)";

/// <summary>The sample's entry point, public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;
