// The RelayKit fake upstream as a standalone server: OpenAI- and Anthropic-compatible endpoints under
// /v1 that answer any model with generated text, or replay and record a cassette.
//
//   dotnet run --project samples/FakeUpstream                                   generated answers on http://localhost:5000
//   dotnet run --project samples/FakeUpstream -- --urls http://127.0.0.1:8081 --seed 7
//   dotnet run --project samples/FakeUpstream -- --cassettes cassettes --record-from https://api.openai.com/ --mode once
//   dotnet run --project samples/FakeUpstream -- --cassettes cassettes --mode none --speed recorded
//
// Flags (also readable from environment variables or appsettings, as any ASP.NET Core setting):
//   --seed N             seed of the generated answers (default 42)
//   --cassettes DIR      folder of cassette files; turns cassettes on
//   --cassette NAME      the cassette's name, DIR/NAME.json (default "fake-upstream")
//   --record-from URL    the real upstream to record from (a provider's base URL, or a relay's)
//   --mode MODE          none | once | new_episodes | all (default: once with --record-from, else none);
//                        RELAYKIT_CASSETTE_MODE overrides it
//   --speed SPEED        instant | recorded | a factor such as 2 (default instant)
//   --allow-repeats      replay the last identical recording again once all were replayed (a long-running server wants this)
using System.Globalization;
using RelayKit.Testing;

var builder = WebApplication.CreateBuilder(args);
var settings = builder.Configuration;
var options = new FakeUpstreamOptions();
if (settings["seed"] is { Length: > 0 } seed)
{
    options.Seed = int.Parse(seed, CultureInfo.InvariantCulture);
}

if (settings["cassettes"] is { Length: > 0 } directory)
{
    var recordFrom = settings["record-from"] is { Length: > 0 } url ? new Uri(url, UriKind.Absolute) : null;
    options.Cassette = new CassetteOptions
    {
        Directory = directory,
        Name = settings["cassette"] is { Length: > 0 } name ? name : "fake-upstream",
        RecordFrom = recordFrom,
        Mode = settings["mode"] is { Length: > 0 } mode
            ? Cassette.ParseMode(mode)
            : recordFrom is null ? CassetteRecordMode.None : CassetteRecordMode.Once,
        AllowPlaybackRepeats = settings.GetValue<bool>("allow-repeats"),
        Speed = settings["speed"] is { Length: > 0 } speed ? CassetteSpeed.Parse(speed) : CassetteSpeed.Instant,
    };
}

await using var fake = new FakeUpstream(options);
var app = builder.Build();
app.MapFakeUpstream(fake);
if (fake.Cassette is { } cassette)
{
    app.Logger.LogInformation(
        "Cassette {File}: mode {Mode}, {Count} recorded interaction(s), recording from {Upstream}",
        cassette.FilePath, cassette.Mode, cassette.InteractionCount, options.Cassette!.RecordFrom?.ToString() ?? "nowhere");
}

await app.RunAsync();
