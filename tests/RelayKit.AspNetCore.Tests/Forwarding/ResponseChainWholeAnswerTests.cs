using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Relay;

namespace RelayKit.AspNetCore.Tests.Forwarding;

/// <summary>
/// A translated whole (JSON) answer through the chain: the translator parses it once and hands the meter the same
/// document (<see cref="UsageMeter.OnWholeAnswer"/>). The caller's answer, the usage charged, the model and the recorded
/// content must all come out of that one parse, however the upstream's chunks were cut, and a translated answer that
/// cannot be translated must still be metered from the meter's own copy.
/// </summary>
public sealed class ResponseChainWholeAnswerTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);

    private const string AnthropicAnswer =
        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-up\","
        + "\"content\":[{\"type\":\"text\",\"text\":\"Hello there\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
        + "\"usage\":{\"input_tokens\":21,\"output_tokens\":9}}";

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public void A_translated_whole_answer_is_metered_and_its_content_recorded_from_the_translators_parse(int chunkSize)
    {
        var context = Translated(contentChars: 100);
        var chain = new ResponseChain(context.Meter, Translator(context), rename: null, strip: false);
        StartJson(chain, context);

        var caller = new StringBuilder();
        var bytes = Encoding.UTF8.GetBytes(AnthropicAnswer);
        for (var at = 0; at < bytes.Length; at += chunkSize)
        {
            caller.Append(Encoding.UTF8.GetString(chain.Push(bytes.AsMemory(at, Math.Min(chunkSize, bytes.Length - at))).Span));
        }

        caller.Append(Encoding.UTF8.GetString(chain.Finish(clean: true).Span));
        chain.End(completed: true);
        chain.Dispose();

        var answer = JsonNode.Parse(caller.ToString())!;
        Assert.Equal("chat.completion", (string?)answer["object"]);
        Assert.Equal("gpt-caller", (string?)answer["model"]);
        Assert.Equal("Hello there", (string?)answer["choices"]![0]!["message"]!["content"]);
        Assert.Equal(21, answer["usage"]!["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(9, answer["usage"]!["completion_tokens"]!.GetValue<long>());

        Assert.Equal(TokenUsage.FromAnthropic(21, 0, 0, 9), context.ReportedUsage);
        Assert.Equal("claude-up", context.ResponseModel);
        Assert.Equal("Hello there", context.CompletionText);
    }

    [Fact]
    public void A_whole_answer_that_does_not_translate_is_still_metered_from_the_meters_copy()
    {
        // A JSON array is no answer: the translator throws before it hands the meter anything.
        var context = Translated(contentChars: null);
        var chain = new ResponseChain(context.Meter, Translator(context), rename: null, strip: false);
        StartJson(chain, context);
        chain.Push(Encoding.UTF8.GetBytes("[" + AnthropicAnswer + "]"));
        Assert.Throws<JsonException>(() => chain.Finish(clean: true));
        chain.End(completed: true);
        chain.Dispose();

        // Nothing readable either way: no usage, and no crash from a document already gone.
        Assert.Null(context.ReportedUsage);

        // An object whose content cannot be carried still meters its usage, as before the one-parse change.
        var other = Translated(contentChars: null);
        var otherChain = new ResponseChain(other.Meter, Translator(other), rename: null, strip: false);
        StartJson(otherChain, other);
        otherChain.Push(Encoding.UTF8.GetBytes(AnthropicAnswer.Replace("\"content\":[", "\"content\":{\"x\":[", StringComparison.Ordinal)
            .Replace("],\"stop_reason\"", "]},\"stop_reason\"", StringComparison.Ordinal)));
        try
        {
            otherChain.Finish(clean: true);
        }
        catch (Exception ex) when (ex is JsonException or TranslationException)
        {
        }

        otherChain.End(completed: true);
        otherChain.Dispose();
        Assert.Equal(TokenUsage.FromAnthropic(21, 0, 0, 9), other.ReportedUsage);
    }

    private static void StartJson(ResponseChain chain, RelayRequestContext context)
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        chain.Start(context.UpstreamOperation, response, context.HttpContext.Response);
    }

    /// <summary>A Chat Completions caller whose request went to an Anthropic upstream.</summary>
    private static RelayRequestContext Translated(int? contentChars)
    {
        var context = new RelayRequestContext(new DefaultHttpContext(), RelayOperation.ChatCompletions, RelayOperation.ChatCompletions.Format, "req_whole", Start);
        var callerBody = new JsonObject
        {
            ["model"] = "gpt-caller",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        var raw = "{\"model\":\"claude-up\",\"max_tokens\":10,\"messages\":[]}"u8.ToArray();
        context.Meter = new UsageMeter(context, new FakeTimeProvider(Start), text => text.Length / 4, contentChars);
        context.Translation = new TranslatedRequest(WireFormat.Anthropic, "v1/messages", new RelayRequestBody(raw, JsonDocument.Parse(raw)), callerBody, "gpt-caller");
        return context;
    }

    private static TranslatingResponseTransform Translator(RelayRequestContext context) =>
        new(context.Operation, context.Translation!.CallerBody, context.Translation.CallerModel, Start, context.Meter);
}
