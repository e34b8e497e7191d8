using System.Text.Json.Nodes;
using Newtonsoft.Json.Linq;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Requests;
using Snapshooter.Xunit;

namespace RelayKit.AspNetCore.Tests.Translation.Requests;

public sealed class MessagesToChatCompletionsRequestTests
{
    private static JsonObject Translate(string json) =>
        MessagesToChatCompletionsRequest.Translate((JsonObject)JsonNode.Parse(json)!, new RequestTranslationOptions("gpt-5.5-2026-01-01"));

    [Theory]
    [InlineData("""{"output_config":{"effort":"max"}}""", "max")]
    [InlineData("""{"output_config":{"effort":"xhigh"}}""", "xhigh")]
    [InlineData("""{"output_config":{"effort":"low"}}""", "low")]
    [InlineData("""{"thinking":{"type":"enabled","budget_tokens":2048}}""", "low")]
    [InlineData("""{"thinking":{"type":"enabled","budget_tokens":20000}}""", "high")]
    public void Reasoning_effort_keeps_its_name_and_a_thinking_budget_maps_by_size(string fields, string expected)
    {
        var request = (JsonObject)JsonNode.Parse(fields)!;
        request["model"] = "gpt-5.5";
        request["max_tokens"] = 1024;
        request["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" });

        var result = MessagesToChatCompletionsRequest.Translate(request, new RequestTranslationOptions("gpt-5.5"));

        Assert.Equal(expected, (string?)result["reasoning_effort"]);
    }

    [Fact]
    public void A_last_assistant_message_is_prefill_which_openai_cannot_continue_so_it_is_refused()
    {
        var ex = Assert.Throws<TranslationException>(() => Translate("""
            {"model":"gpt-5.5","max_tokens":10,"messages":[{"role":"user","content":"JSON please"},{"role":"assistant","content":"{"}]}
            """));

        Assert.Equal("messages[1]", ex.Field);
        Assert.Contains("prefill", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Full_conversation_matches_snapshot()
    {
        var result = Translate("""
            {
              "model": "gpt-5.5",
              "max_tokens": 1024,
              "system": [{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}],
              "messages": [
                {"role": "user", "content": [
                  {"type": "text", "text": "Weather in Paris? See the photo."},
                  {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                  {"type": "image", "source": {"type": "url", "url": "https://example.com/sky.png"}}
                ]},
                {"role": "assistant", "content": [
                  {"type": "thinking", "thinking": "I should call the tool.", "signature": "sig"},
                  {"type": "text", "text": "Checking."},
                  {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
                ]},
                {"role": "user", "content": [
                  {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18 C"}]},
                  {"type": "text", "text": "And tomorrow?"}
                ]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Paris", "day": 1}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "unavailable", "is_error": true}]}
              ],
              "tools": [{"name": "get_weather", "description": "Weather now", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "day": {"type": "integer"}}}}],
              "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
              "temperature": 0.2,
              "top_p": 0.8,
              "stop_sequences": ["END"],
              "stream": true,
              "metadata": {"user_id": "user-42"},
              "thinking": {"type": "enabled", "budget_tokens": 8000},
              "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}
            }
            """);

        Snapshot.Match(JToken.Parse(result.ToJsonString()));
    }

    [Fact]
    public void Stream_always_asks_the_upstream_for_usage()
    {
        var result = Translate("""{"model":"g","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}""");

        Assert.True((bool)result["stream_options"]!["include_usage"]!);
        Assert.Equal(5, (long)result["max_completion_tokens"]!);
    }

    [Fact]
    public void Tool_results_leave_the_user_turn_ahead_of_its_text()
    {
        var result = Translate("""
            {"model":"g","max_tokens":5,"messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"tool_use","id":"t2","name":"f","input":{"a":1}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"one"},{"type":"tool_result","tool_use_id":"t2","content":"two"},{"type":"text","text":"next"}]}]}
            """);

        var messages = (JsonArray)result["messages"]!;
        Assert.Equal(["user", "assistant", "tool", "tool", "user"], messages.Select(m => (string)m!["role"]!));
        Assert.Equal("{\"a\":1}", (string?)messages[1]!["tool_calls"]![1]!["function"]!["arguments"]);
        Assert.Null(messages[1]!["content"]);
    }

    [Theory]
    [InlineData("""{"model":"g","max_tokens":5,"top_k":40,"messages":[{"role":"user","content":"x"}]}""", "top_k")]
    [InlineData("""{"model":"g","max_tokens":5,"stop_sequences":["a","b","c","d","e"],"messages":[{"role":"user","content":"x"}]}""", "stop_sequences")]
    [InlineData("""{"model":"g","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"x"}]}""", "tools[0].type")]
    [InlineData("""{"model":"g","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}]}""", "messages[0].content[0].content[0].type")]
    [InlineData("""{"model":"g","max_tokens":5,"messages":[{"role":"user","content":[{"type":"search_result"}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"model":"g","max_tokens":5,"mcp_servers":[],"messages":[{"role":"user","content":"x"}]}""", "mcp_servers")]
    public void Untranslatable_fields_throw_naming_the_field(string request, string field)
    {
        var error = Assert.Throws<TranslationException>(() => Translate(request));

        Assert.Equal(field, error.Field);
    }

    [Theory]
    [InlineData("""{"type":"auto"}""", "\"auto\"")]
    [InlineData("""{"type":"none"}""", "\"none\"")]
    [InlineData("""{"type":"any"}""", "\"required\"")]
    [InlineData("""{"type":"tool","name":"f"}""", """{"type":"function","function":{"name":"f"}}""")]
    public void Tool_choice_maps(string anthropic, string openAI)
    {
        var result = Translate($$$"""{"model":"g","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{{{anthropic}}}}""");

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(openAI), result["tool_choice"]));
    }
}
