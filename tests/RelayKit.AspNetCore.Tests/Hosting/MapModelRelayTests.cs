using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

public sealed class MapModelRelayTests
{
    [Fact]
    public async Task A_disabled_relay_maps_nothing_logs_it_and_needs_no_valid_configuration()
    {
        var settings = RelaySettings.Unreachable()
            .With("ModelRelay:Enabled", "false")
            .With("ModelRelay:Providers:openai:BaseUrl", "")
            .With("ModelRelay:Models:fast:Provider", "nowhere");
        await using var app = new RelayApp(settings);
        using var http = app.CreateClient();

        var chat = await RawRelayCall.PostAsync(http, "v1/chat/completions", """{"model":"gpt-5.5","messages":[]}""", bearer: RelaySettings.AliceKey);
        var models = await RawRelayCall.GetAsync(http, "v1/models", bearer: RelaySettings.AliceKey);

        Assert.Equal(404, chat.Status);
        Assert.Equal(404, models.Status);
        Assert.False(chat.Headers.Contains("x-request-id"));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Message.StartsWith("The model relay is off (ModelRelay:Enabled=false)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_relay_can_live_under_a_prefix()
    {
        await using var relay = FakeRelay.Create(prefix: "/llm");
        using var http = relay.App.CreateClient();

        var result = await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        var outsidePrefix = await RawRelayCall.GetAsync(http, "v1/models", bearer: RelaySettings.AliceKey);

        Assert.NotEmpty(result.Value.Content[0].Text);
        Assert.Equal(404, outsidePrefix.Status);
        Assert.Equal(200, (await RawRelayCall.GetAsync(http, "llm/v1/models", bearer: RelaySettings.AliceKey)).Status);
    }

    [Fact]
    public async Task The_returned_builder_applies_the_hosts_conventions_to_every_relay_endpoint()
    {
        await using var app = new RelayApp(RelaySettings.Unreachable(), conventions: relay => relay.WithMetadata(new ProbeMetadata()));
        using var http = app.CreateClient();

        var models = await RawRelayCall.GetAsync(http, "v1/models", bearer: RelaySettings.AliceKey);

        Assert.Equal(200, models.Status);
        var reached = app.Services.GetServices<EndpointDataSource>()
            .SelectMany(s => s.Endpoints)
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<ProbeMetadata>() is not null)
            .Select(e => e.RoutePattern.RawText!)
            .Distinct()
            .Order(StringComparer.Ordinal);
        Assert.Equal(["/relay/status", "/relay/status/summary.json", "/relay/usage", "/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/messages/count_tokens", "/v1/models", "/v1/models/{**model}",
            "/v1/relay/balance", "/v1/relay/estimate", "/v1/relay/ledger", "/v1/relay/requests/{requestId}/cost", "/v1/responses"], reached);
    }

    [Fact]
    public void Mapping_without_the_services_says_what_is_missing()
    {
        var builder = WebApplication.CreateSlimBuilder();
        using var web = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => web.MapModelRelay());

        Assert.Equal("The model relay's services are missing: call builder.Services.AddModelRelay() before app.MapModelRelay().", error.Message);
    }
}
