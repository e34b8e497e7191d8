using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;
using NJsonSchema;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>Anthropic structured outputs: <c>output_config.format</c> of type <c>json_schema</c>, through the official SDK.</summary>
public sealed class StructuredOutputTests
{
    internal const string RecipeSchema = """
        {
          "type": "object",
          "properties": {
            "name": { "type": "string", "minLength": 3 },
            "servings": { "type": "integer", "minimum": 1, "maximum": 12 },
            "vegetarian": { "type": "boolean" },
            "ingredients": { "type": "array", "items": { "type": "object", "properties": { "item": { "type": "string" }, "grams": { "type": "number", "exclusiveMinimum": 0 } }, "required": ["item"], "additionalProperties": false }, "minItems": 1 },
            "notes": { "type": "string" }
          },
          "required": ["name", "servings", "ingredients"],
          "additionalProperties": false
        }
        """;

    [Fact]
    public async Task Output_config_json_schema_gets_a_value_valid_for_the_schema_with_every_property()
    {
        var schema = await JsonSchema.FromJsonAsync(RecipeSchema);
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 9 });
        var client = AnthropicSdk.Client(fake);

        var message = await client.Messages.Create(WithSchema(AnthropicSdk.Ask("A recipe as JSON", maxTokens: 1024)));

        var text = Assert.Single(message.Content.Select(c => c.TryPickText(out var t) ? t : null).OfType<TextBlock>()).Text;
        Assert.Empty(schema.Validate(text));

        // Anthropic enforces a schema as OpenAI's strict mode does: optional properties are there too.
        Assert.Equal(["name", "servings", "vegetarian", "ingredients", "notes"], JsonNode.Parse(text)!.AsObject().Select(p => p.Key));
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(AnthropicSdk.CountTokens(text), message.Usage.OutputTokens);
        Assert.True(fake.Requests[0].IsOutputSchemaStrict);
    }

    [Theory]
    [InlineData("""{"output_config":{"format":{"type":"json_schema"}},""", "output_config.format.schema: Field required")]
    [InlineData("""{"output_format":{"type":"json_schema"},""", "output_format.schema: Field required")]
    [InlineData("""{"output_config":"json",""", "output_config: Input should be a valid dictionary")]
    public async Task A_json_schema_format_without_a_schema_or_a_non_object_output_config_is_a_400(string start, string message)
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            start + """ "model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(message, error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_root_schema_without_a_type_gets_an_object()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 2 });
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            """{"output_config":{"format":{"type":"json_schema","schema":{"additionalProperties":false}}},"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["content"]![0]!["text"]!.GetValue<string>();
        Assert.IsType<JsonObject>(JsonNode.Parse(text));
    }

    [Fact]
    public async Task Structured_output_streams_as_text_deltas_that_join_into_the_same_value()
    {
        var schema = await JsonSchema.FromJsonAsync(RecipeSchema);
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 9 });
        var client = AnthropicSdk.Client(fake);
        var request = WithSchema(AnthropicSdk.Ask("A recipe as JSON", maxTokens: 1024));
        var whole = await client.Messages.Create(request);

        var streamed = new StringBuilder();
        var deltas = 0;
        await foreach (var e in client.Messages.CreateStreaming(request))
        {
            if (e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t))
            {
                streamed.Append(t.Text);
                deltas++;
            }
        }

        Assert.True(deltas > 5, $"the JSON should arrive in several deltas, got {deltas}");
        Assert.Empty(schema.Validate(streamed.ToString()));
        Assert.True(whole.Content[0].TryPickText(out var text));
        Assert.Equal(text.Text, streamed.ToString());
    }

    [Fact]
    public async Task A_script_pins_the_structured_output_and_the_beta_output_format_is_read_too()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithJson(new { name = "Pancakes", servings = 4, ingredients = new[] { new { item = "flour", grams = 250 } } });
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"recipe"}],"output_format":{"type":"json_schema","schema":""" + RecipeSchema + "}}"));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("""{"name":"Pancakes","servings":4,"ingredients":[{"item":"flour","grams":250}]}""", body["content"]![0]!["text"]!.GetValue<string>());
        Assert.NotNull(fake.Requests[0].OutputSchema);
    }

    private static MessageCreateParams WithSchema(MessageCreateParams request) => request with
    {
        OutputConfig = new OutputConfig
        {
            Format = new JsonOutputFormat
            {
                Schema = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(RecipeSchema)!,
            },
        },
    };
}
