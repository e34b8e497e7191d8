using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// Exact token counts for a varied set of bodies, so that a change to how the estimator reads a body
/// (a node tree, a <see cref="JsonElement"/>) cannot change what it counts. The expected numbers are
/// what the node-tree implementation (the estimator walking <c>JsonNode</c>s, before it read the
/// <c>JsonElement</c> directly) produced for these bodies; they were recorded by running it, not
/// worked out by hand.
/// </summary>
public sealed class WorstCaseEstimatorExactCountTests
{
    private static readonly ModelPrice Price = new() { Input = 1m, Output = 2m };

    // More than a stack buffer holds, with non-ASCII, so the pooled path is taken.
    private static readonly string LongText = string.Concat(Enumerable.Repeat("Größe ändern — 日本語のテキスト, and some plain words. ", 400));

    private static readonly Case[] All =
    [
        new("chat strings", PromptFormat.OpenAIChat, "gpt-4o", 4096, """
            {"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","name":"ann","content":"Hello there, how are you?"},{"role":"assistant","content":"Fine."},{"role":"user","content":""}],"max_tokens":100}
            """, 59, 100, false),
        new("chat content parts and image", PromptFormat.OpenAIChat, "gpt-4o", 4096, """
            {"messages":[{"role":"user","content":[{"type":"text","text":"What is in this picture?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==","detail":"high"}},{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}
            """, 3038, 4096, false),
        new("chat tool calls and tool definitions", PromptFormat.OpenAIChat, "gpt-4o", 4096, """
            {"messages":[{"role":"user","content":"Weather in Zürich?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Z\u00fcrich\",\n\"unit\":\"c\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21.5}"}],
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city — \"quoted\"\nnew line, caf\u00e9, 日本, emoji \ud83d\ude00, slash \/ tab\t.","parameters":{"type":"object","properties":{"city":{"type":"string","description":"Ciudad o población"},"unit":{"type":"string","enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":14.5}},"required":["city"],"additionalProperties":false}}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}},"max_completion_tokens":256}
            """, 214, 256, false),
        new("chat legacy functions, response format, prediction", PromptFormat.OpenAIChat, "gpt-4o", null, """
            {"messages":[{"role":"user","content":"Give me JSON"}],"functions":[{"name":"f","parameters":{"type":"object","properties":{"\u00e9t\u00e9":{"type":"string"}}}}],
             "response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"answer":{"type":"string","description":"<b>&amp;'</b>"}}},"strict":true}},
             "tool_choice":"auto","prediction":{"type":"content","content":"predicted text"}}
            """, 105, 32768, false),
        new("chat scalars inside content", PromptFormat.OpenAIChat, "gpt-4o", 4096, """
            {"messages":[{"role":"user","content":[{"type":"text","text":"numbers","cache":true,"skip":false,"weight":12.5,"none":null,"big":1E3,"neg":-0.0,"exp":6.02e23,"list":[1,2.50,true,null,"s"]}]},{"role":"user","content":42},{"role":"user","content":null}],"max_tokens":12.5,"n":3}
            """, 81, 39, false),
        new("chat escaped property names and strings", PromptFormat.OpenAIChat, "gpt-4o", 4096, """
            {"messages":[{"role":"user","c\u006fntent":"Line one\nLine \"two\"\twith tab, caf\u00e9, \\ backslash, \ud83d\ude00"}],"max_completion_tokens":1e2,"max_tokens":7}
            """, 30, 100, false),
        new("chat file reference", PromptFormat.OpenAIChat, "gpt-4o", 4096, """
            {"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}},{"type":"text","text":"Summarize"}]}],"n":0}
            """, 33, 4096, true),
        new("chat messages not a list", PromptFormat.OpenAIChat, "gpt-4o", 4096, """
            {"messages":{"role":"user","content":"odd"},"max_tokens":-5,"n":"2"}
            """, 14, 0, false),
        new("chat empty messages", PromptFormat.OpenAIChat, "gpt-4", 4096, """
            {"messages":[],"max_tokens":"100"}
            """, 3, 4096, false),
        new("chat long text", PromptFormat.OpenAIChat, "gpt-4o", 4096, $$$"""
            {"messages":[{"role":"user","content":"{{{LongText}}}"}],"tools":[{"type":"function","function":{"name":"long","description":"{{{LongText}}}"}}]}
            """, 12043, 4096, false),
        new("responses input string with instructions", PromptFormat.OpenAIResponses, "gpt-5", 4096, """
            {"model":"gpt-5","input":"Tell me a joke about caf\u00e9s","instructions":"Be brief.\nNo puns.","max_output_tokens":64,"previous_response_id":null}
            """, 21, 64, false),
        new("responses input list with tools and text format", PromptFormat.OpenAIResponses, "gpt-4o-mini", 4096, """
            {"input":[{"role":"developer","content":"Rules"},{"role":"user","content":[{"type":"input_text","text":"What's this?"},{"type":"input_image","image_url":"https://example.com/a.png"}]},{"type":"function_call","call_id":"c1","name":"lookup","arguments":"{\"q\":\"x\"}"},{"type":"function_call_output","call_id":"c1","output":"found"}],
             "instructions":[{"type":"input_text","text":"System-ish"}],"tools":[{"type":"function","name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}},{"type":"web_search"}],
             "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"}}},"tool_choice":"required","max_output_tokens":99.01}
            """, 3161, 100, false),
        new("responses with context the relay cannot see", PromptFormat.OpenAIResponses, "gpt-5", null, """
            {"input":"And another","previous_response_id":"resp_1"}
            """, 10, 32768, true),
        new("responses with a stored prompt", PromptFormat.OpenAIResponses, "gpt-5", null, """
            {"prompt":{"id":"pmpt_1","variables":{"x":"y"}},"conversation":null}
            """, 0, 32768, true),
        new("responses with an input file", PromptFormat.OpenAIResponses, "gpt-5", null, """
            {"input":[{"role":"user","content":[{"type":"input_file","file_id":null}]}]}
            """, 21, 32768, true),
        new("anthropic system blocks, tool use and results", PromptFormat.AnthropicMessages, "gpt-4o", 4096, """
            {"model":"claude-sonnet-4-5","system":[{"type":"text","text":"You are helpful.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Answer in Fran\u00e7ais."}],
             "messages":[{"role":"user","content":"What's the weather?"},
               {"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"tu_1","name":"get_weather","input":{"city":"S\u00e3o Paulo","note":"line\nbreak \"q\"","days":3,"metric":true,"extra":null}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu_1","content":[{"type":"text","text":"25°C, sunny"}],"is_error":false}]},
               {"role":"assistant","content":[{"type":"server_tool_use","id":"st_1","name":"web_search","input":{"query":"日本 weather"}},{"type":"tool_use","id":"tu_2","name":"noop","input":{}}]}],
             "tools":[{"name":"get_weather","description":"Weather — \"now\"","input_schema":{"type":"object","properties":{"city":{"type":"string","description":"Ciudad \u00e9"}},"required":["city"]}}],
             "tool_choice":{"type":"auto"},"max_tokens":512}
            """, 748, 512, false),
        new("anthropic image, document file and no tools", PromptFormat.AnthropicMessages, "claude-sonnet-4-5", 8192, """
            {"system":"Be kind","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"document","source":{"type":"file","file_id":"f1"}},{"type":"text","text":"Describe both"}]}],"tools":[],"max_tokens":1000.5}
            """, 4554, 1001, true),
        new("anthropic document source type not a string", PromptFormat.AnthropicMessages, "gpt-4o", null, """
            {"messages":[{"role":"user","content":[{"type":"document","source":{"type":1}}]}]}
            """, 22, 32768, false),
        new("embeddings string", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small", null, """
            {"input":"The food was delicious and the waiter\u2026","model":"text-embedding-3-small"}
            """, 8, 0, false),
        new("embeddings string array", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small", null, """
            {"input":["a cat","a dog on a mat","","caf\u00e9 \"quoted\""]}
            """, 12, 0, false),
        new("embeddings token array", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small", null, """
            {"input":[1,2,3,4,5,6,7,8,9]}
            """, 9, 0, false),
        new("embeddings nested token arrays", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small", null, """
            {"input":[[1,2,3,4,5],[6,7],[]]}
            """, 7, 0, false),
        new("embeddings odd shapes", PromptFormat.OpenAIEmbeddings, "gpt-4", null, """
            {"input":[["a",1],[1,null],{"text":"obj"},true,12.5,null,"tail"]}
            """, 11, 0, false),
        new("embeddings number input", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small", null, """
            {"input":3.25}
            """, 3, 0, false),
        new("embeddings no input", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small", null, """
            {"model":"text-embedding-3-small"}
            """, 0, 0, false),
    ];

    private readonly WorstCaseEstimator _estimator = new(new PromptTokenCounter(), Options.Create(new BudgetEstimateOptions()));

    public static TheoryData<string> Names => new(All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void A_request_context_is_counted_as_the_node_tree_counted_it(string name)
    {
        var c = All.Single(c => c.Name == name);
        using var context = Context(Encoding.UTF8.GetBytes(c.Json));
        Check(c, _estimator.Estimate(context, c.Format, c.Model, Price, c.Cap));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_node_serialized_to_an_element_is_counted_as_the_node_tree_counted_it(string name)
    {
        // What callers that hold a node tree pass: the tree written out as an element.
        var c = All.Single(c => c.Name == name);
        Check(c, _estimator.Estimate(JsonSerializer.SerializeToElement(JsonNode.Parse(c.Json)), c.Format, c.Model, Price, c.Cap));
    }

    /// <summary>
    /// Text that is not valid Unicode: the node tree failed on what it read as a string (a name or a value) and
    /// counted what it wrote as JSON with the invalid bytes replaced; reading the element must do the same.
    /// </summary>
    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"ab\xFF"}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"text","t\xFF":"x"}]}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":"a\ud800b"}]}""")]
    [InlineData("""{"messages":[{"role":"user","c\ud800":"x"}]}""")]
    [InlineData("""{"tools":[{"description":"a\ud800b"}]}""")]
    public void A_string_that_is_not_valid_text_fails_as_the_node_tree_failed(string json)
    {
        using var context = Context(Utf8WithRawBytes(json));
        Assert.Throws<InvalidOperationException>(() => _estimator.Estimate(context, PromptFormat.OpenAIChat, "gpt-4o", Price, 10));
    }

    [Fact]
    public void Invalid_UTF8_in_a_tool_definition_is_counted_as_the_node_tree_counted_it()
    {
        using var context = Context(Utf8WithRawBytes("""{"tools":[{"type":"function","function":{"description":"ab\xFF"}}]}"""));
        Assert.Equal(26, _estimator.Estimate(context, PromptFormat.OpenAIChat, "gpt-4o", Price, 10).PromptTokens);
    }

    /// <summary>
    /// The one input the element is read differently for: a repeated property name. The node tree threw on it
    /// (ArgumentException, "An item with the same key has already been added"); the element counts every
    /// occurrence, which can only raise a worst case. The relay refuses such bodies when it reads them
    /// (<c>AllowDuplicateProperties = false</c>), so none reaches the estimator on the request path.
    /// </summary>
    [Fact]
    public void A_repeated_property_is_counted_each_time_it_occurs()
    {
        using var once = Context(Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"a"}]}"""));
        using var twice = Context(Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"a","content":"a"}]}"""));

        var single = _estimator.Estimate(once, PromptFormat.OpenAIChat, "gpt-4o", Price, 10).PromptTokens;
        var repeated = _estimator.Estimate(twice, PromptFormat.OpenAIChat, "gpt-4o", Price, 10).PromptTokens;

        // The name "content" (1 token) and its punctuation token, and "a" (1 token), once more.
        Assert.Equal(single + 3, repeated);
    }

    /// <summary>The JSON text as UTF-8, with each <c>\xFF</c> in it a raw 0xFF byte (which is never valid UTF-8).</summary>
    private static byte[] Utf8WithRawBytes(string json)
    {
        var pieces = json.Split(@"\xFF");
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(pieces[0]));
        foreach (var piece in pieces.Skip(1))
        {
            bytes.Add(0xFF);
            bytes.AddRange(Encoding.UTF8.GetBytes(piece));
        }

        return [.. bytes];
    }

    private static RelayRequestContext Context(byte[] body) =>
        new(new DefaultHttpContext(), RelayOperation.ChatCompletions, WireFormat.OpenAI, "req_test", DateTimeOffset.UnixEpoch)
        {
            Body = new RelayRequestBody(body, JsonDocument.Parse(body)),
        };

    private static void Check(Case c, CostEstimate estimate)
    {
        Assert.Equal((c.PromptTokens, c.OutputTokens, c.Uncounted), (estimate.PromptTokens, estimate.OutputTokens, estimate.HasUncountedContext));
        Assert.Equal(TokenCost.WorstCase(Price, c.PromptTokens, c.OutputTokens), estimate.Cost);
    }

    private sealed record Case(string Name, PromptFormat Format, string Model, int? Cap, string Json, long PromptTokens, long OutputTokens, bool Uncounted);
}
