using System.Net;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Models;
using Microsoft.Extensions.Time.Testing;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>Anthropic's <c>GET /v1/models</c> pages and <c>GET /v1/models/{id}</c>, through the SDK and raw HTTP.</summary>
public sealed class ModelPagesTests
{
    private static readonly string[] Five = ["claude-opus-4-8", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "claude-sonnet-4"];

    [Fact]
    public async Task The_sdk_pages_through_the_whole_list_limit_by_limit()
    {
        await using var fake = Fake(Five);
        var client = AnthropicSdk.Client(fake);

        var first = await client.Models.List(new ModelListParams { Limit = 2 });
        var all = new List<string>();
        await foreach (var model in first.Paginate())
        {
            all.Add(model.ID);
        }

        Assert.Equal(["claude-opus-4-8", "claude-sonnet-4-5"], first.Items.Select(m => m.ID));
        Assert.True(first.HasNext());
        Assert.Equal(Five, all);
        Assert.Equal(3, fake.Requests.Count); // pages of 2, 2 and 1
    }

    [Fact]
    public async Task The_last_page_says_it_has_no_more()
    {
        await using var fake = Fake(Five);
        var client = AnthropicSdk.Client(fake);

        var last = await client.Models.List(new ModelListParams { Limit = 2, AfterID = "claude-haiku-4-5" });

        Assert.Equal(["claude-opus-4-1", "claude-sonnet-4"], last.Items.Select(m => m.ID));
        Assert.False(last.HasNext());
    }

    [Theory]
    [InlineData("limit=2", "claude-opus-4-8,claude-sonnet-4-5", true)]
    [InlineData("limit=2&after_id=claude-sonnet-4-5", "claude-haiku-4-5,claude-opus-4-1", true)]
    [InlineData("limit=3&after_id=claude-sonnet-4-5", "claude-haiku-4-5,claude-opus-4-1,claude-sonnet-4", false)]
    [InlineData("after_id=claude-sonnet-4", "", false)]
    [InlineData("limit=2&before_id=claude-opus-4-1", "claude-sonnet-4-5,claude-haiku-4-5", true)]
    [InlineData("limit=2&before_id=claude-haiku-4-5", "claude-opus-4-8,claude-sonnet-4-5", false)]
    [InlineData("before_id=claude-opus-4-8", "", false)]
    [InlineData("limit=1000", "claude-opus-4-8,claude-sonnet-4-5,claude-haiku-4-5,claude-opus-4-1,claude-sonnet-4", false)]
    public async Task A_page_holds_limit_models_after_or_before_the_cursor(string query, string ids, bool hasMore)
    {
        await using var fake = Fake(Five);

        using var page = await GetAsync(fake, "v1/models?" + query);

        var data = page.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(ids.Split(',', StringSplitOptions.RemoveEmptyEntries), data);
        Assert.Equal(hasMore, page.RootElement.GetProperty("has_more").GetBoolean());
        Assert.Equal(data.FirstOrDefault(), page.RootElement.GetProperty("first_id").GetString());
        Assert.Equal(data.LastOrDefault(), page.RootElement.GetProperty("last_id").GetString());
    }

    [Fact]
    public async Task Without_a_limit_a_page_holds_twenty()
    {
        await using var fake = Fake(Enumerable.Range(1, 25).Select(i => $"claude-test-{i}").ToArray());

        using var first = await GetAsync(fake, "v1/models");
        using var second = await GetAsync(fake, "v1/models?after_id=" + first.RootElement.GetProperty("last_id").GetString());

        Assert.Equal(20, first.RootElement.GetProperty("data").GetArrayLength());
        Assert.True(first.RootElement.GetProperty("has_more").GetBoolean());
        Assert.Equal("claude-test-20", first.RootElement.GetProperty("last_id").GetString());
        Assert.Equal(5, second.RootElement.GetProperty("data").GetArrayLength());
        Assert.False(second.RootElement.GetProperty("has_more").GetBoolean());
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=many", "limit")]
    [InlineData("after_id=claude-nope", "after_id")]
    [InlineData("before_id=claude-nope", "before_id")]
    [InlineData("after_id=claude-opus-4-8&before_id=claude-sonnet-4", "after_id")]
    public async Task A_bad_page_parameter_is_a_400_that_names_it(string query, string parameter)
    {
        await using var fake = Fake(Five);
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Get, "v1/models?" + query));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(parameter, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_anthropic_list_shows_claude_models_only_by_default()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);

        var page = await client.Models.List(new ModelListParams());

        Assert.Equal(fake.Options.AnthropicModels, page.Items.Select(m => m.ID));
        Assert.All(page.Items, m => Assert.StartsWith("claude-", m.ID, StringComparison.Ordinal));
        Assert.DoesNotContain(page.Items, m => fake.Options.Models.Contains(m.ID));
    }

    [Fact]
    public async Task The_sdk_retrieves_a_listed_model_with_its_limits_and_capabilities()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock });
        var client = AnthropicSdk.Client(fake);

        var model = await client.Models.Retrieve("claude-haiku-4-5");

        Assert.Equal("claude-haiku-4-5", model.ID);
        Assert.Equal("Claude Haiku 4.5", model.DisplayName);
        Assert.Equal(clock.GetUtcNow(), model.CreatedAt);
        Assert.Equal(ModelLine.Haiku, model.Line!.Value());
        Assert.True(model.MaxInputTokens > 0);
        Assert.True(model.MaxTokens > 0);
        Assert.True(model.Capabilities!.Thinking.Supported);
        Assert.Null(model.DeprecatedAt);
        var request = Assert.Single(fake.Requests);
        Assert.Equal(FakeEndpoint.AnthropicModelRetrieve, request.Endpoint);
        Assert.Equal("/v1/models/claude-haiku-4-5", request.Path);
        Assert.Equal("claude-haiku-4-5", request.Model);
    }

    [Fact]
    public async Task An_unlisted_model_is_a_404_not_found_error()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);

        var sdkError = await Assert.ThrowsAsync<AnthropicNotFoundException>(() => client.Models.Retrieve("gpt-4o"));
        using var raw = await fake.CreateClient().SendAsync(AnthropicSdk.Raw(HttpMethod.Get, "v1/models/claude-nope-9"));
        using var body = JsonDocument.Parse(await raw.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, sdkError.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, raw.StatusCode);
        Assert.Equal("not_found_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("model: claude-nope-9", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(raw.Headers.GetValues("request-id").Single(), body.RootElement.GetProperty("request_id").GetString());
    }

    private static FakeUpstream Fake(string[] models)
    {
        var fake = new FakeUpstream();
        fake.Options.AnthropicModels.Clear();
        foreach (var model in models)
        {
            fake.Options.AnthropicModels.Add(model);
        }

        return fake;
    }

    private static async Task<JsonDocument> GetAsync(FakeUpstream fake, string path)
    {
        using var http = fake.CreateClient();
        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Get, path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
