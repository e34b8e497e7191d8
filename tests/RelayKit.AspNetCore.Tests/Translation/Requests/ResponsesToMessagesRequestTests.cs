using System.Text.Json.Nodes;
using Newtonsoft.Json.Linq;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Requests;
using Snapshooter.Xunit;

namespace RelayKit.AspNetCore.Tests.Translation.Requests;

public sealed class ResponsesToMessagesRequestTests
{
    private static JsonObject Translate(string json) =>
        ResponsesToMessagesRequest.Translate((JsonObject)JsonNode.Parse(json)!, new RequestTranslationOptions("claude-opus-4-8"));

    [Fact]
    public void Tool_loop_input_matches_snapshot()
    {
        var result = Translate("""
            {
              "model": "claude-code-opus-4.8",
              "instructions": "Be terse.",
              "input": [
                {"role": "developer", "content": "Prefer metric."},
                {"type": "message", "role": "user", "content": [
                  {"type": "input_text", "text": "Weather in Oslo?"},
                  {"type": "input_image", "image_url": "data:image/webp;base64,UklGRg==", "detail": "auto"}
                ]},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
                {"type": "function_call_output", "call_id": "call_9", "output": "-3 C"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It is -3 C."}]},
                {"role": "user", "content": "Tomorrow?"}
              ],
              "tools": [{"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": false}],
              "tool_choice": {"type": "function", "name": "get_weather"},
              "max_output_tokens": 256,
              "temperature": 0.4,
              "stream": true,
              "store": true,
              "reasoning": {"effort": "high"},
              "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}}}
            }
            """);

        Snapshot.Match(JToken.Parse(result.ToJsonString()));
    }

    [Fact]
    public void String_input_is_one_user_turn_and_max_tokens_defaults()
    {
        var result = Translate("""{"model":"m","input":"hello"}""");

        Assert.Equal("hello", (string?)result["messages"]![0]!["content"]![0]!["text"]);
        Assert.Equal(RequestTranslationOptions.StandardMaxTokens, (long)result["max_tokens"]!);
    }

    [Theory]
    [InlineData("""{"model":"m","input":"x","previous_response_id":"resp_1"}""", "previous_response_id")]
    [InlineData("""{"model":"m","input":"x","conversation":"conv_1"}""", "conversation")]
    [InlineData("""{"model":"m","input":"x","tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"model":"m","input":[{"type":"item_reference","id":"x"}]}""", "input[0].type")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_audio"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}""", "input[0].content[0].file_id")]
    public void Untranslatable_fields_throw_naming_the_field(string request, string field)
    {
        Assert.Equal(field, Assert.Throws<TranslationException>(() => Translate(request)).Field);
    }
}
