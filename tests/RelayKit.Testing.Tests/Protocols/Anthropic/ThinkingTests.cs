using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>Anthropic extended thinking (<c>thinking</c> enabled or adaptive): a signed thinking block before the text, within the budget.</summary>
public sealed class ThinkingTests
{
    [Fact]
    public async Task Enabled_thinking_returns_a_signed_thinking_block_before_the_text_within_the_budget()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 3 });
        var client = AnthropicSdk.Client(fake);

        var message = await client.Messages.Create(Thinking(AnthropicSdk.Ask("Think, then answer", maxTokens: 4096), 1024));

        Assert.Equal(2, message.Content.Count);
        Assert.True(message.Content[0].TryPickThinking(out var thinking));
        Assert.True(message.Content[1].TryPickText(out var text));
        Assert.False(string.IsNullOrWhiteSpace(thinking.Thinking));
        Assert.False(string.IsNullOrWhiteSpace(thinking.Signature));
        Assert.InRange(AnthropicSdk.CountTokens(thinking.Thinking), 1, 1024);
        Assert.Equal(AnthropicSdk.CountTokens(thinking.Thinking) + AnthropicSdk.CountTokens(text.Text), message.Usage.OutputTokens);
        Assert.True(fake.Requests[0].RequestsThinking);
        Assert.Equal(1024, fake.Requests[0].ThinkingBudgetTokens);
    }

    [Fact]
    public async Task Generated_thinking_is_cut_to_a_small_budget_and_the_text_to_what_max_tokens_leaves()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 3, GeneratedSentences = 40 });
        using var http = fake.CreateClient();

        // Adaptive thinking has no budget of its own: the fake gives it half of max_tokens, and the text what is left.
        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            """{"model":"claude-opus-4-6","max_tokens":40,"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"think hard"}]}"""));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var thinking = body["content"]![0]!["thinking"]!.GetValue<string>();
        var text = body["content"]![1]!["text"]!.GetValue<string>();
        Assert.InRange(AnthropicSdk.CountTokens(thinking), 1, 20);
        Assert.Equal(40, body["usage"]!["output_tokens"]!.GetValue<int>());
        Assert.Equal(40, AnthropicSdk.CountTokens(thinking) + AnthropicSdk.CountTokens(text));
        Assert.Equal("max_tokens", body["stop_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task When_adaptive_thinking_uses_the_whole_cap_the_text_is_empty_and_the_stop_reason_is_max_tokens()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 3 });
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            """{"model":"claude-opus-4-6","max_tokens":1,"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"think hard"}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(1, AnthropicSdk.CountTokens(body["content"]![0]!["thinking"]!.GetValue<string>()));
        Assert.Equal(1, body["usage"]!["output_tokens"]!.GetValue<int>());
        Assert.Equal("max_tokens", body["stop_reason"]!.GetValue<string>());
        Assert.All(body["content"]!.AsArray().Skip(1), block => Assert.Equal("", block!["text"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Thinking_streams_as_thinking_deltas_then_a_signature_delta_then_the_text()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 5 });
        var client = AnthropicSdk.Client(fake);
        var request = Thinking(AnthropicSdk.Ask("Think, then answer", maxTokens: 4096), 2048);
        var whole = await client.Messages.Create(request);
        Assert.True(whole.Content[0].TryPickThinking(out var expected));

        var order = new List<string>();
        var thinking = new StringBuilder();
        var signature = new StringBuilder();
        var text = new StringBuilder();
        long? outputTokens = null;
        await foreach (var e in client.Messages.CreateStreaming(request))
        {
            if (e.TryPickContentBlockStart(out var start))
            {
                order.Add("start:" + start.ContentBlock.Json.GetProperty("type").GetString());
            }
            else if (e.TryPickContentBlockDelta(out var d))
            {
                if (d.Delta.TryPickThinking(out var t))
                {
                    thinking.Append(t.Thinking);
                    order.Add("thinking_delta");
                }
                else if (d.Delta.TryPickSignature(out var s))
                {
                    signature.Append(s.Signature);
                    order.Add("signature_delta");
                }
                else if (d.Delta.TryPickText(out var x))
                {
                    text.Append(x.Text);
                    order.Add("text_delta");
                }
            }
            else if (e.TryPickContentBlockStop(out _))
            {
                order.Add("stop");
            }
            else if (e.TryPickDelta(out var md))
            {
                outputTokens = md.Usage.OutputTokens;
            }
        }

        var collapsed = order.Where((o, i) => i == 0 || o != order[i - 1]).ToList();
        Assert.Equal(["start:thinking", "thinking_delta", "signature_delta", "stop", "start:text", "text_delta", "stop"], collapsed);
        Assert.Equal(expected.Thinking, thinking.ToString());
        Assert.Equal(expected.Signature, signature.ToString());
        Assert.Equal(whole.Usage.OutputTokens, outputTokens);
        Assert.True(whole.Content[1].TryPickText(out var wholeText));
        Assert.Equal(wholeText.Text, text.ToString());
    }

    [Fact]
    public async Task Adaptive_thinking_is_answered_like_enabled_thinking()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);

        var message = await client.Messages.Create(AnthropicSdk.Ask("Think adaptively", maxTokens: 2048) with { Thinking = new ThinkingConfigAdaptive() });

        Assert.True(message.Content[0].TryPickThinking(out var thinking));
        Assert.InRange(AnthropicSdk.CountTokens(thinking.Thinking), 1, 1024);
        Assert.True(message.Content[1].TryPickText(out _));
        Assert.Null(fake.Requests[0].ThinkingBudgetTokens);
    }

    [Fact]
    public async Task A_script_gets_thinking_added_when_thinking_is_on_or_sets_its_own()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("own").RespondWith(FakeReply.WithText("42.") with { Thinking = "Six times seven." });
        fake.Setup().RespondWithText("Plain.");
        var client = AnthropicSdk.Client(fake);

        var own = await client.Messages.Create(Thinking(AnthropicSdk.Ask("own thinking", maxTokens: 2048), 1024));
        var added = await client.Messages.Create(Thinking(AnthropicSdk.Ask("added thinking", maxTokens: 2048), 1024));
        var none = await client.Messages.Create(AnthropicSdk.Ask("no thinking"));

        Assert.True(own.Content[0].TryPickThinking(out var ownThinking));
        Assert.Equal("Six times seven.", ownThinking.Thinking);
        Assert.Equal(AnthropicSdk.CountTokens("Six times seven.") + AnthropicSdk.CountTokens("42."), own.Usage.OutputTokens);
        Assert.True(added.Content[0].TryPickThinking(out var addedThinking));
        Assert.NotEqual(ownThinking.Signature, addedThinking.Signature);
        Assert.True(added.Content[1].TryPickText(out var addedText));
        Assert.Equal("Plain.", addedText.Text);
        Assert.True(Assert.Single(none.Content).TryPickText(out _));
    }

    [Fact]
    public async Task Redacted_thinking_is_scriptable_whole_and_streamed()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(FakeReply.WithText("The answer.") with { RedactedThinking = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP" });
        var client = AnthropicSdk.Client(fake);
        var request = Thinking(AnthropicSdk.Ask("sensitive", maxTokens: 2048), 1024);

        var message = await client.Messages.Create(request);
        var starts = new List<RawContentBlockStartEvent>();
        var thinkingDeltas = 0;
        await foreach (var e in client.Messages.CreateStreaming(request))
        {
            if (e.TryPickContentBlockStart(out var start))
            {
                starts.Add(start);
            }
            else if (e.TryPickContentBlockDelta(out var d) && (d.Delta.TryPickThinking(out _) || d.Delta.TryPickSignature(out _)))
            {
                thinkingDeltas++;
            }
        }

        Assert.True(message.Content[0].TryPickRedactedThinking(out var redacted));
        Assert.Equal("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP", redacted.Data);
        Assert.True(message.Content[1].TryPickText(out _));
        Assert.True(starts[0].ContentBlock.TryPickRedactedThinking(out var streamed));
        Assert.Equal(redacted.Data, streamed.Data);
        Assert.Equal(0, thinkingDeltas);
    }

    [Fact]
    public async Task Display_omitted_keeps_the_signature_and_leaves_the_thinking_text_empty()
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            """{"model":"claude-opus-4-6","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":1024,"display":"omitted"},"messages":[{"role":"user","content":"hi"}]}"""));

        var block = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["content"]![0]!;
        Assert.Equal("thinking", block["type"]!.GetValue<string>());
        Assert.Equal("", block["thinking"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(block["signature"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("""{"type":"enabled","budget_tokens":512}""", 4096, "greater than or equal to 1024")]
    [InlineData("""{"type":"enabled","budget_tokens":2048}""", 2048, "`max_tokens` must be greater than `thinking.budget_tokens`")]
    [InlineData("""{"type":"enabled"}""", 2048, "budget_tokens: Field required")]
    [InlineData("""{"type":"sometimes"}""", 2048, "'sometimes'")]
    public async Task A_thinking_config_the_api_refuses_is_a_400_in_anthropic_s_shape(string thinking, int maxTokens, string message)
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            $$"""{"model":"claude-opus-4-6","max_tokens":{{maxTokens}},"thinking":{{thinking}},"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("invalid_request_error", body["error"]!["type"]!.GetValue<string>());
        Assert.Contains(message, body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Thinking_with_a_forced_tool_is_a_400_as_the_api_refuses_it()
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages",
            """{"model":"claude-opus-4-6","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":1024},"tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("tool_choice forces tool use", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_thinking_and_signature()
    {
        async Task<ThinkingBlock> AskAsync(int seed)
        {
            await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = seed });
            var message = await AnthropicSdk.Client(fake).Messages.Create(Thinking(AnthropicSdk.Ask("Same?", maxTokens: 2048), 1024));
            Assert.True(message.Content[0].TryPickThinking(out var block));
            return block;
        }

        var first = await AskAsync(1);
        var again = await AskAsync(1);
        var other = await AskAsync(2);
        Assert.Equal((first.Thinking, first.Signature), (again.Thinking, again.Signature));
        Assert.NotEqual(first.Thinking, other.Thinking);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Thinking_tokens_in_usage_count_the_thinking_and_redacted_thinking_in_the_message_and_the_stream(bool redacted)
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 4 });
        var reply = FakeReply.WithText("Forty-two.") with { ReasoningTokens = 3 };
        fake.Setup().RespondWith(redacted ? reply with { RedactedThinking = "EmwKAhgBEgy3va3pzixQ" } : reply with { Thinking = "Six times seven is forty-two." });
        using var http = fake.CreateClient();
        const string Request = """{"model":"claude-opus-4-6","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":1024},STREAM"messages":[{"role":"user","content":"think"}]}""";
        var expected = AnthropicSdk.CountTokens(redacted ? "EmwKAhgBEgy3va3pzixQ" : "Six times seven is forty-two.") + 3;

        using var whole = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages", Request.Replace("STREAM", "", StringComparison.Ordinal)));
        var body = JsonNode.Parse(await whole.Content.ReadAsStringAsync())!;
        using var streamed = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "/v1/messages", Request.Replace("STREAM", "\"stream\":true,", StringComparison.Ordinal)));
        var delta = AnthropicSdk.ParseSse(await streamed.Content.ReadAsStringAsync()).Single(e => e.Event == "message_delta").Data;

        Assert.Equal(expected, body["usage"]!["output_tokens_details"]!["thinking_tokens"]!.GetValue<int>());
        Assert.Equal(expected, delta.GetProperty("usage").GetProperty("output_tokens_details").GetProperty("thinking_tokens").GetInt32());
        Assert.Equal(expected + AnthropicSdk.CountTokens("Forty-two."), body["usage"]!["output_tokens"]!.GetValue<int>());
    }

    private static MessageCreateParams Thinking(MessageCreateParams request, long budget) =>
        request with { Thinking = new ThinkingConfigEnabled(budget) };
}
