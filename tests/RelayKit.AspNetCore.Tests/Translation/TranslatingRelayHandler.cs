using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Errors;
using RelayKit.AspNetCore.Translation.Requests;
using RelayKit.AspNetCore.Translation.Responses;
using RelayKit.AspNetCore.Translation.Streaming;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Translation;

/// <summary>
/// The Forward step in miniature, for round-trip tests: an official SDK talks to this handler in one
/// wire format; it translates the request, sends it to the fake upstream in the other format, and
/// translates the upstream's real answer (whole or streamed, errors included) back.
/// </summary>
internal sealed class TranslatingRelayHandler(FakeUpstream fake, string upstreamModel) : HttpMessageHandler
{
    private readonly HttpClient _upstream = fake.CreateClient();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

    /// <summary>The usage the last stream translator reported.</summary>
    public TokenUsage? LastStreamUsage { get; private set; }

    /// <summary>The last request body sent upstream.</summary>
    public JsonObject? LastUpstreamBody { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = (JsonObject)JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
        var path = request.RequestUri!.AbsolutePath;
        var clientModel = (string?)body["model"];
        var options = new RequestTranslationOptions(upstreamModel);
        var openAICaller = path != "/v1/messages";
        JsonObject upstreamBody;
        try
        {
            upstreamBody = path switch
            {
                "/v1/chat/completions" => ChatCompletionsToMessagesRequest.Translate(body, options),
                "/v1/responses" => ResponsesToMessagesRequest.Translate(body, options),
                "/v1/messages" => MessagesToChatCompletionsRequest.Translate(body, options),
                _ => throw new InvalidOperationException($"No route for {path}"),
            };
        }
        catch (TranslationException e)
        {
            var error = openAICaller
                ? ErrorTranslation.OpenAIBody(e.Message, "invalid_request_error", e.Field, null)
                : ErrorTranslation.AnthropicBody("invalid_request_error", e.Message);
            return Json(HttpStatusCode.BadRequest, error);
        }

        LastUpstreamBody = upstreamBody;
        var upstreamPath = openAICaller ? "v1/messages" : "v1/chat/completions";
        using var upstreamRequest = new HttpRequestMessage(HttpMethod.Post, upstreamPath)
        {
            Content = new StringContent(upstreamBody.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        upstreamRequest.Headers.Add(openAICaller ? "x-api-key" : "Authorization", openAICaller ? "sk-ant-test" : "Bearer sk-test");
        upstreamRequest.Headers.Add("anthropic-version", "2023-06-01");
        using var upstream = await _upstream.SendAsync(upstreamRequest, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!upstream.IsSuccessStatusCode)
        {
            var text = await upstream.Content.ReadAsStringAsync(cancellationToken);
            var translated = openAICaller
                ? ErrorTranslation.AnthropicToOpenAI((int)upstream.StatusCode, text)
                : ErrorTranslation.OpenAIToAnthropic((int)upstream.StatusCode, text);
            return Json((HttpStatusCode)translated.Status, translated.Body);
        }

        if (upstreamBody["stream"]?.GetValue<bool>() == true)
        {
            IStreamTranslator translator = path switch
            {
                "/v1/chat/completions" => new MessagesToChatChunksStreamTranslator(body["stream_options"]?["include_usage"]?.GetValue<bool>() == true, Time.GetUtcNow(), clientModel),
                "/v1/responses" => new MessagesToResponsesStreamTranslator(body, Time.GetUtcNow(), clientModel),
                _ => new ChatChunksToMessagesStreamTranslator(clientModel),
            };
            var sink = new RecordingSseSink();
            await using var stream = await upstream.Content.ReadAsStreamAsync(cancellationToken);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
            {
                translator.Push(item.EventType == SseParser.EventTypeDefault ? null : item.EventType, item.Data, sink);
            }

            translator.Complete(sink);
            LastStreamUsage = translator.Usage;
            return new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent(sink.Text, Encoding.UTF8, "text/event-stream"),
            };
        }

        var answer = (JsonObject)JsonNode.Parse(await upstream.Content.ReadAsStringAsync(cancellationToken))!;
        var result = path switch
        {
            "/v1/chat/completions" => MessagesToChatCompletionResponse.Translate(answer, Time.GetUtcNow(), clientModel),
            "/v1/responses" => MessagesToResponsesResponse.Translate(answer, body, Time.GetUtcNow(), clientModel),
            _ => ChatCompletionToMessagesResponse.Translate(answer, clientModel),
        };
        return Json(HttpStatusCode.OK, result);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _upstream.Dispose();
        }

        base.Dispose(disposing);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, JsonObject body) => new(status)
    {
        Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
    };
}
