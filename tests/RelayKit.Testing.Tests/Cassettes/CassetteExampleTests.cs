using RelayKit.Tests.Shared;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

/// <summary>
/// The example cassettes committed in <c>Cassettes/recorded/</c>, replayed in mode None as a team's CI
/// would. Re-record them with <c>RELAYKIT_RERECORD_EXAMPLES=1 dotnet test --filter Rerecord_the_examples</c>.
/// </summary>
public sealed class CassetteExampleTests
{
    private const string ColorsQuestion = "Name the three primary colors.";
    private const string ColorsAnswer = "Red, yellow and blue are the three primary colors.";
    private const string WeatherQuestion = "What is the weather in Paris?";

    private static readonly string Recorded = FindRecordedFolder();

    [Fact]
    public async Task The_openai_examples_replay_offline_through_the_sdk()
    {
        await using var fake = Replayer("openai-chat");
        var chat = OpenAIChat(fake);
        var text = "";
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(ColorsQuestion)]))
        {
            text += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal(ColorsAnswer, text);
        ChatCompletion weather = await chat.CompleteChatAsync([new UserChatMessage(WeatherQuestion)], WeatherOptions());
        var call = Assert.Single(weather.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonNode.Parse(call.FunctionArguments.ToString())!["city"]!.GetValue<string>());
        Assert.True(fake.Cassette!.AllPlayed);
        Assert.Empty(fake.Cassette.Misses);
    }

    [Fact]
    public async Task The_anthropic_examples_replay_offline_through_the_sdk()
    {
        await using var fake = Replayer("anthropic-messages");
        var client = AnthropicClientFor(fake);
        var text = "";
        await foreach (var streamEvent in client.Messages.CreateStreaming(ColorsParameters()))
        {
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var piece))
            {
                text += piece.Text;
            }
        }

        Assert.Equal(ColorsAnswer, text);

        // The same recording, asked for whole (by a fresh replay): the stream is assembled into a message.
        await using var again = Replayer("anthropic-messages");
        var message = await AnthropicClientFor(again).Messages.Create(ColorsParameters());
        Assert.True(message.Content[0].TryPickText(out var whole));
        Assert.Equal(ColorsAnswer, whole.Text);
        Assert.Empty(fake.Cassette!.Misses);
    }

    [Fact]
    public async Task The_examples_replay_at_their_recorded_spacing_on_fake_time()
    {
        var file = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Recorded, "openai-chat.json")))!;
        var response = file["interactions"]!.AsArray().Select(i => i!["response"]!).First(r => r["events"] is not null);
        var offsets = response["events"]!.AsArray().Select(e => (double)e!["offsetMs"]!).ToList();
        var expected = new[] { (double)response["headersMs"]! }
            .Concat(offsets.Zip(new[] { (double)response["headersMs"]! }.Concat(offsets), (offset, previous) => offset - previous))
            .Where(ms => ms > 0)
            .Select(ms => TimeSpan.FromMilliseconds(ms))
            .ToList();
        Assert.NotEmpty(expected);

        var time = new ObservedTimeProvider();
        var options = ExampleOptions("openai-chat");
        options.Speed = CassetteSpeed.Recorded;
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = time, Cassette = options });
        var (events, delays) = await DriveStreamAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat(ColorsQuestion, stream: true)), time, oneTimerPerEvent: false);
        Assert.Equal(expected, delays);
        Assert.Equal(offsets.Count, events.Count);
    }

    [Fact]
    public void The_examples_hold_no_secrets() => CassetteSecretScanner.AssertNoSecrets(Recorded);

    [SkippableFact]
    public async Task Rerecord_the_examples()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("RELAYKIT_RERECORD_EXAMPLES") == "1", "Set RELAYKIT_RERECORD_EXAMPLES=1 to re-record the example cassettes.");

        // A second fake upstream stands in for the real APIs, with real latency so the examples hold real spacing.
        await using var upstream = new FakeUpstream();
        upstream.Setup().WhenLastUserMessageContains("weather").RespondWithToolCall("get_weather", """{"city":"Paris","unit":"celsius"}""");
        upstream.Setup().RespondWithText(ColorsAnswer).WithFault(FakeFault.Latency(TimeSpan.FromMilliseconds(120), TimeSpan.FromMilliseconds(15)));
        var address = await upstream.StartAsync();

        // Warm the upstream (its tokenizer loads on first use) so the first recorded answer holds a realistic first-byte time.
        await SendJsonAsync(upstream.CreateClient(), Post("/v1/chat/completions", Chat("warm up")));

        var openAIOptions = ExampleOptions("openai-chat", CassetteRecordMode.All, address);
        await using (var fake = new FakeUpstream(new FakeUpstreamOptions { Cassette = openAIOptions }))
        {
            var chat = OpenAIChat(fake, TestSecrets.Key("sk-proj", "NeverWritten"));
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(ColorsQuestion)]))
            {
                _ = update;
            }

            await chat.CompleteChatAsync([new UserChatMessage(WeatherQuestion)], WeatherOptions());
            Assert.Equal(2, fake.Cassette!.RecordedCount);
        }

        await using (var fake = new FakeUpstream(new FakeUpstreamOptions { Cassette = ExampleOptions("anthropic-messages", CassetteRecordMode.All, address) }))
        {
            await foreach (var streamEvent in AnthropicClientFor(fake).Messages.CreateStreaming(ColorsParameters()))
            {
                _ = streamEvent;
            }

            Assert.Equal(1, fake.Cassette!.RecordedCount);
        }

        CassetteSecretScanner.AssertNoSecrets(Recorded);
    }

    private static FakeUpstream Replayer(string name) => new(new FakeUpstreamOptions { Cassette = ExampleOptions(name) });

    private static CassetteOptions ExampleOptions(string name, CassetteRecordMode mode = CassetteRecordMode.None, Uri? recordFrom = null) => new()
    {
        Directory = Recorded,
        Name = name,
        Mode = mode,
        RecordFrom = recordFrom,
        ModeOverrideVariable = null,
    };

    private static MessageCreateParams ColorsParameters() => new()
    {
        Model = "claude-sonnet-4-5",
        MaxTokens = 256,
        Messages = [new UserMessageParam(ColorsQuestion)],
    };

    private static ChatCompletionOptions WeatherOptions() => new()
    {
        Tools =
        {
            ChatTool.CreateFunctionTool("get_weather", "The current weather in a city.", BinaryData.FromString(
                """{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}""")),
        },
    };

    private static ChatClient OpenAIChat(FakeUpstream fake, string key = "sk-test")
    {
        var http = fake.CreateClient();
        return new ChatClient("gpt-4o-mini", new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "v1"),
            Transport = new HttpClientPipelineTransport(http),
        });
    }

    private static AnthropicClient AnthropicClientFor(FakeUpstream fake)
    {
        var http = fake.CreateClient();
        return new AnthropicClient { ApiKey = TestSecrets.Key("sk-ant", "NeverWritten"), BaseUrl = http.BaseAddress!.ToString().TrimEnd('/'), HttpClient = http, MaxRetries = 0 };
    }

    private static string FindRecordedFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "RelayKit.Testing.Tests", "Cassettes", "recorded");
            if (File.Exists(Path.Combine(directory.FullName, "RelayKit.sln")) && Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/RelayKit.Testing.Tests/Cassettes/recorded was not found above " + AppContext.BaseDirectory);
    }
}
