using System.Text.Json.Nodes;
using Newtonsoft.Json.Linq;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Requests;
using Snapshooter.Xunit;

namespace RelayKit.AspNetCore.Tests.Translation.Requests;

public sealed class ChatCompletionsToMessagesRequestTests
{
    private static readonly RequestTranslationOptions Options = new("claude-opus-4-8", DefaultMaxTokens: 2048);

    private static JsonObject Translate(string json) => ChatCompletionsToMessagesRequest.Translate((JsonObject)JsonNode.Parse(json)!, Options);

    [Fact]
    public void Full_conversation_matches_snapshot()
    {
        var result = Translate("""
            {
              "model": "claude-code-opus-4.8",
              "messages": [
                {"role": "system", "content": "You are a weather bot."},
                {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
                {"role": "user", "content": [
                  {"type": "text", "text": "What is in this picture, and the weather in Paris and Rome?"},
                  {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
                  {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
                ]},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [
                  {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                  {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "24 C"}]},
                {"role": "user", "content": "Thanks, summarize."}
              ],
              "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true}}],
              "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
              "parallel_tool_calls": false,
              "temperature": 0.3,
              "top_p": 0.9,
              "stop": ["END", "STOP"],
              "max_completion_tokens": 500,
              "stream": true,
              "stream_options": {"include_usage": true},
              "reasoning_effort": "minimal",
              "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object", "properties": {"text": {"type": "string"}}}}},
              "user": "user-42",
              "store": false,
              "seed": 7
            }
            """);

        Snapshot.Match(JToken.Parse(result.ToJsonString()));
    }

    [Fact]
    public void Consecutive_tool_results_share_one_user_turn_in_order()
    {
        var result = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"f","arguments":""}}]},
              {"role":"tool","tool_call_id":"a","content":"1"},
              {"role":"tool","tool_call_id":"b","content":"2"},
              {"role":"user","content":"and?"}]}
            """);

        var messages = (JsonArray)result["messages"]!;
        Assert.Equal(3, messages.Count);
        var last = (JsonArray)messages[2]!["content"]!;
        Assert.Equal(["tool_result", "tool_result", "text"], last.Select(b => (string)b!["type"]!));
        Assert.Equal(["a", "b"], last.Take(2).Select(b => (string)b!["tool_use_id"]!));
        Assert.Empty((JsonObject)messages[1]!["content"]![1]!["input"]!);
    }

    [Fact]
    public void Max_tokens_falls_back_to_max_tokens_then_the_configured_default()
    {
        Assert.Equal(77, (long)Translate("""{"model":"m","max_tokens":77,"messages":[{"role":"user","content":"x"}]}""")["max_tokens"]!);
        Assert.Equal(2048, (long)Translate("""{"model":"m","messages":[{"role":"user","content":"x"}]}""")["max_tokens"]!);
        Assert.Equal(RequestTranslationOptions.StandardMaxTokens, (long)ChatCompletionsToMessagesRequest.Translate(
            (JsonObject)JsonNode.Parse("""{"model":"m","messages":[{"role":"user","content":"x"}]}""")!, new RequestTranslationOptions("c"))["max_tokens"]!);
    }

    [Theory]
    [InlineData("\"auto\"", """{"type":"auto"}""")]
    [InlineData("\"none\"", """{"type":"none"}""")]
    [InlineData("\"required\"", """{"type":"any"}""")]
    [InlineData("""{"type":"function","function":{"name":"f"}}""", """{"type":"tool","name":"f"}""")]
    public void Tool_choice_maps(string openAI, string anthropic)
    {
        var result = Translate($$$"""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{{{openAI}}}}""");

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(anthropic), result["tool_choice"]));
        Assert.Equal("object", (string?)result["tools"]![0]!["input_schema"]!["type"]);
    }

    [Theory]
    [InlineData("""{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}""", "n")]
    [InlineData("""{"model":"m","logprobs":true,"messages":[{"role":"user","content":"x"}]}""", "logprobs")]
    [InlineData("""{"model":"m","audio":{"voice":"alloy"},"messages":[{"role":"user","content":"x"}]}""", "audio")]
    [InlineData("""{"model":"m","temperature":1.5,"messages":[{"role":"user","content":"x"}]}""", "temperature")]
    [InlineData("""{"model":"m","frequency_penalty":0.5,"messages":[{"role":"user","content":"x"}]}""", "frequency_penalty")]
    [InlineData("""{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"x"}]}""", "response_format.type")]
    [InlineData("""{"model":"m","brand_new_field":1,"messages":[{"role":"user","content":"x"}]}""", "brand_new_field")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"},{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}""", "messages[1].content[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AA=="}}]}]}""", "messages[0].content[0].image_url.url")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}""", "messages[0].content[0].image_url.url")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"g"}}]}""", "tools[0].type")]
    public void Untranslatable_fields_throw_naming_the_field(string request, string field)
    {
        var error = Assert.Throws<TranslationException>(() => Translate(request));

        Assert.Equal(field, error.Field);
        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_of_unsupported_parameters_are_accepted()
    {
        var result = Translate("""{"model":"m","n":1,"logprobs":false,"presence_penalty":0,"logit_bias":{},"modalities":["text"],"messages":[{"role":"user","content":"x"}]}""");

        Assert.Equal("x", (string?)result["messages"]![0]!["content"]![0]!["text"]);
        Assert.Null(result["n"]);
    }

    [Fact]
    public void Pdf_file_data_becomes_a_document_block()
    {
        var result = Translate("""{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}}]}]}""");

        var block = result["messages"]![0]!["content"]![0]!;
        Assert.Equal("document", (string?)block["type"]);
        Assert.Equal("JVBERi0=", (string?)block["source"]!["data"]);
        Assert.Equal("a.pdf", (string?)block["title"]);
    }
}
