using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using RelayKit.Testing.Faults;
using RelayKit.Testing.Generation;
using RelayKit.Testing.Protocols;
using RelayKit.Testing.Protocols.Anthropic;
using RelayKit.Testing.Protocols.OpenAI;
using RelayKit.Testing.State;
using RelayKit.Testing.Streaming;

namespace RelayKit.Testing.Hosting;

/// <summary>
/// Answers one request to the fake upstream, in order: recognize the endpoint, read the body,
/// record the request, pick the scripted rule or the generator, apply its faults, render the
/// answer in the endpoint's wire format (whole or streamed).
/// </summary>
internal sealed class FakeUpstreamHandler(FakeUpstream fake)
{
    private const int MaxBodyBytes = 32 * 1024 * 1024;
    private const string ModelsPrefix = "/v1/models/";
    private static readonly OpenAIChatRenderer ChatRenderer = new();
    private static readonly OpenAIResponsesRenderer ResponsesRenderer = new();
    private static readonly AnthropicMessagesRenderer MessagesRenderer = new();

    private FakeUpstreamOptions Options => fake.Options;

    public async Task HandleAsync(HttpContext context, string path)
    {
        var http = context.Request;
        var format = DetectFormat(path, http.Headers);
        var endpoint = DetectEndpoint(path, http.Method, http.Headers, out var allowedMethod);
        var ids = fake.NewIdSource();
        var requestId = ids.Next("req_", 24);
        context.Response.Headers[format == FakeWireFormat.OpenAI ? "x-request-id" : "request-id"] = requestId;

        string rawBody = "";
        JsonNode? body = null;
        ParsedBody? parsed = null;
        JsonArray? conversation = null;
        BadRequestException? problem = null;
        FakeFault? headerFault = null;
        try
        {
            headerFault = HeaderFaults.Read(http.Headers);
            if (endpoint == FakeEndpoint.Unknown)
            {
                if (allowedMethod is not null)
                {
                    context.Response.Headers.Allow = allowedMethod;
                }

                throw UnknownRoute(format, http.Method, path, allowedMethod is not null);
            }

            if (endpoint is FakeEndpoint.AnthropicMessages or FakeEndpoint.AnthropicCountTokens
                or FakeEndpoint.AnthropicModels or FakeEndpoint.AnthropicModelRetrieve)
            {
                AnthropicRequestReader.RequireHeaders(http.Headers);
            }

            if (HttpMethods.IsPost(http.Method))
            {
                rawBody = await ReadBodyAsync(http, context.RequestAborted);

                // A stored-state POST (a cancel) may come without a body; the create endpoints need one.
                if (endpoint is not (FakeEndpoint.OpenAIStoredChatCompletions or FakeEndpoint.OpenAIStoredResponses) || rawBody.Length > 0)
                {
                    body = ParseJson(rawBody, http.ContentType);

                    // With a cassette the recorded (or recording) upstream holds the state, not this fake.
                    conversation = endpoint == FakeEndpoint.OpenAIResponses && fake.Cassette is null
                        ? ResponsesConversation.Resolve((JsonObject)body, fake.Store)
                        : null;
                    parsed = Read(endpoint, (JsonObject)body, conversation);
                    if (endpoint is FakeEndpoint.OpenAIChatCompletions or FakeEndpoint.OpenAIResponses)
                    {
                        // Checked before answering, as the API does: the answer may be stored with it.
                        StoredStateHandler.ReadMetadata(body["metadata"]);
                    }
                }
            }
            else if (endpoint is FakeEndpoint.OpenAIModelRetrieve or FakeEndpoint.AnthropicModelRetrieve)
            {
                parsed = new ParsedBody { Model = path.TrimEnd('/')[ModelsPrefix.Length..] };
            }
        }
        catch (BadRequestException e)
        {
            problem = e;
        }
        catch (FormatException e)
        {
            problem = new BadRequestException(400, e.Message, HeaderFaults.HeaderName);
        }

        var request = fake.Record(new FakeRequest
        {
            ReceivedAt = Options.TimeProvider.GetUtcNow(),
            Method = http.Method,
            Path = path,
            Headers = RedactedHeaders(http.Headers),
            RawBody = rawBody,
            Body = body,
            Endpoint = endpoint,
            WireFormat = format,
            Model = parsed?.Model,
            IsStreaming = parsed?.Stream ?? false,
            IncludeUsage = parsed?.IncludeUsage ?? false,
            LastUserMessage = parsed?.LastUserMessage,
            SystemPrompt = parsed?.SystemPrompt,
            Tools = parsed?.Tools ?? [],
            ForcedToolName = parsed?.ForcedToolName,
            RequiresToolCall = parsed?.RequiresToolCall ?? false,
            MaxOutputTokens = parsed?.MaxOutputTokens,
            EmbeddingInputs = parsed?.EmbeddingInputs ?? [],
            PromptText = parsed?.PromptText ?? "",
            OutputSchema = parsed?.OutputSchema,
            IsOutputSchemaStrict = parsed?.IsOutputSchemaStrict ?? false,
            RequiresJsonOutput = parsed?.RequiresJsonOutput ?? false,
            ChoiceCount = parsed?.ChoiceCount ?? 1,
            TopLogprobs = parsed?.TopLogprobs,
            RequestsThinking = parsed?.RequestsThinking ?? false,
            ThinkingBudgetTokens = parsed?.ThinkingBudgetTokens,
            OmitsThinkingText = parsed?.OmitsThinkingText ?? false,
        });

        try
        {
            if (problem is not null)
            {
                await WriteErrorAsync(context, format, problem.Status, problem.ErrorType, problem.Message, problem.Param, requestId, problem.Code);
            }
            else if (fake.Cassette is { } cassette)
            {
                await cassette.AnswerAsync(context, request);
            }
            else
            {
                await AnswerAsync(context, request, headerFault, requestId, ids, conversation);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; recorded below.
        }
        finally
        {
            request.WasAborted = context.RequestAborted.IsCancellationRequested;
            request.StatusCode = context.Response.StatusCode;
            request.MarkCompleted();
        }
    }

    private async Task AnswerAsync(HttpContext context, FakeRequest request, FakeFault? headerFault, string requestId, IdSource ids, JsonArray? conversation)
    {
        var format = request.WireFormat;
        if (request.Endpoint is FakeEndpoint.OpenAIModels or FakeEndpoint.AnthropicModels
            or FakeEndpoint.OpenAIModelRetrieve or FakeEndpoint.AnthropicModelRetrieve)
        {
            // A health check lists models: a fault rule that matches fails it as it would fail a completion.
            var faulted = fake.FindRule(request, faultsOnly: true);
            request.AnsweredBy = faulted?.ToString();
            if (!await AnswerFaultAsync(context, request, Combine(faulted?.Fault, headerFault), requestId))
            {
                await AnswerModelsAsync(context, request, requestId);
            }

            return;
        }

        if (request.Endpoint == FakeEndpoint.AnthropicCountTokens)
        {
            var tokens = Math.Max(1, Tokens.TokenCounter.Count(request.PromptText));
            await WriteJsonAsync(context, 200, new JsonObject { ["input_tokens"] = tokens });
            return;
        }

        if (request.Endpoint is FakeEndpoint.OpenAIStoredChatCompletions or FakeEndpoint.OpenAIStoredResponses)
        {
            var (code, stored) = fake.State.Answer(request, context.Request.Query);
            await WriteJsonAsync(context, code, stored);
            return;
        }

        var rule = fake.FindRule(request);
        if (rule is null && Options.RequireScript)
        {
            request.WasUnexpected = true;
            await WriteErrorAsync(context, format, 400, null,
                $"RelayKit fake upstream: no script rule matched {request.Describe()}. Rules: {fake.DescribeRules()}.", null, requestId);
            return;
        }

        request.AnsweredBy = rule?.ToString();
        var fault = Combine(rule?.Fault, headerFault);
        if (await AnswerFaultAsync(context, request, fault, requestId))
        {
            return;
        }

        var scripted = rule?.Reply?.Invoke(request);
        if (scripted is not null && (request.Endpoint == FakeEndpoint.OpenAIEmbeddings) != (scripted.Embeddings is not null))
        {
            scripted = null;
        }

        // A script answers every one of n choices alike; generated choices differ from each other.
        var replies = new List<FakeReply>(request.ChoiceCount);
        for (var choice = 0; choice < request.ChoiceCount; choice++)
        {
            replies.Add(fake.Generator.Complete(scripted ?? fake.Generator.Generate(request, choice), request, choice));
        }

        if (request.Endpoint == FakeEndpoint.OpenAIEmbeddings)
        {
            var embeddings = OpenAIEmbeddingsRenderer.Render(request, replies[0].Embeddings!);
            fake.RateLimits.Consume(context.Response.Headers, format, embeddings["usage"]!["total_tokens"]!.GetValue<int>());
            await WriteJsonAsync(context, 200, embeddings);
            return;
        }

        var answer = new Answer(
            request,
            replies,
            fault,
            request.Endpoint switch
            {
                FakeEndpoint.AnthropicMessages => ids.Next("msg_", 24),
                FakeEndpoint.OpenAIResponses => ids.Next("resp_", 32),
                _ => ids.Next("chatcmpl-", 29),
            },
            Options.TimeProvider.GetUtcNow().ToUnixTimeSeconds(),
            request.Endpoint == FakeEndpoint.AnthropicMessages ? () => ids.Next("toolu_", 24) : () => ids.Next("call_", 24));
        fake.RateLimits.Consume(context.Response.Headers, format, answer.InputTokens + answer.OutputTokens);
        var renderer = Renderer(request.Endpoint);
        var keep = fake.State.WouldStore(request);
        if (!request.IsStreaming)
        {
            var body = renderer.RenderBody(answer);
            await WriteJsonAsync(context, 200, keep ? fake.State.Keep(answer, body, conversation, ids) : WireJson.Write(body));
            return;
        }

        if (keep)
        {
            // Kept before the first event goes out, so a caller that reads the id can use it at once.
            fake.State.Keep(answer, renderer.RenderBody(answer), conversation, ids);
        }

        await StreamAsync(context, renderer, answer, rule?.Hold);
    }

    /// <summary>
    /// Applies what of a fault comes before the answer: the first byte's delay, then a reset before any byte or an
    /// error status. True when that answered the request (no answer is to follow).
    /// </summary>
    private async Task<bool> AnswerFaultAsync(HttpContext context, FakeRequest request, FakeFault? fault, string requestId)
    {
        var delay = fault?.FirstByteDelay;
        if (delay is { } wait && wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, Options.TimeProvider, context.RequestAborted);
        }

        if (fault?.ResetConnectionAfterEvents == 0)
        {
            context.Abort();
            return true;
        }

        if (fault?.Status is not { } status)
        {
            return false;
        }

        if (fault.RetryAfter is { } retryAfter)
        {
            context.Response.Headers["retry-after"] = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["retry-after-ms"] = ((long)retryAfter.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }

        var format = request.WireFormat;
        var code = format == FakeWireFormat.OpenAI && status == 529 ? 503 : status;
        await WriteErrorAsync(context, format, code, fault.ErrorType, fault.Message ?? DefaultMessage(status, request), null, requestId);
        return true;
    }

    /// <summary>
    /// Model lists and single models, each format listing its own provider's models: OpenAI's list whole, Anthropic's
    /// in pages; an id the fake does not list is a 404 in the format's own shape, as the real APIs answer it.
    /// </summary>
    private async Task AnswerModelsAsync(HttpContext context, FakeRequest request, string requestId)
    {
        var now = Options.TimeProvider.GetUtcNow();
        var id = request.Model ?? "";
        switch (request.Endpoint)
        {
            case FakeEndpoint.OpenAIModels:
                await WriteJsonAsync(context, 200, ModelListRenderer.OpenAIList(Options.Models, now.ToUnixTimeSeconds()));
                break;
            case FakeEndpoint.AnthropicModels:
                JsonObject page;
                try
                {
                    page = ModelListRenderer.AnthropicPage([.. Options.AnthropicModels], now, context.Request.Query);
                }
                catch (BadRequestException e)
                {
                    await WriteErrorAsync(context, request.WireFormat, e.Status, e.ErrorType, e.Message, e.Param, requestId);
                    return;
                }

                await WriteJsonAsync(context, 200, page);
                break;
            case FakeEndpoint.OpenAIModelRetrieve when Options.Models.Contains(id):
                await WriteJsonAsync(context, 200, ModelListRenderer.OpenAIModel(id, now.ToUnixTimeSeconds()));
                break;
            case FakeEndpoint.AnthropicModelRetrieve when Options.AnthropicModels.Contains(id):
                await WriteJsonAsync(context, 200, ModelListRenderer.AnthropicModel(id, now));
                break;
            case FakeEndpoint.OpenAIModelRetrieve:
                await WriteErrorAsync(context, request.WireFormat, 404, null, $"The model '{id}' does not exist", "model", requestId, "model_not_found");
                break;
            default:
                await WriteErrorAsync(context, request.WireFormat, 404, null, $"model: {id}", null, requestId);
                break;
        }
    }

    private async Task StreamAsync(HttpContext context, IAnswerRenderer renderer, Answer answer, (int Events, FakeStreamGate Gate)? hold)
    {
        var response = context.Response;
        var cancellation = context.RequestAborted;
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(cancellation);

        var fault = answer.Fault;
        var sent = 0;
        foreach (var sseEvent in renderer.RenderStream(answer))
        {
            if (hold is { } h && h.Events == sent)
            {
                await h.Gate.HoldAsync(cancellation);
            }

            if (fault?.CutStreamAfterEvents == sent)
            {
                return;
            }

            if (fault?.ResetConnectionAfterEvents == sent)
            {
                context.Abort();
                return;
            }

            if (fault?.StreamErrorAfterEvents == sent)
            {
                var type = fault.ErrorType ?? (answer.Request.WireFormat == FakeWireFormat.Anthropic ? "overloaded_error" : "server_error");
                await WriteEventAsync(response, renderer.RenderStreamError(answer, type, fault.Message ?? "The server had an error while processing your request."), cancellation);
                return;
            }

            if (sent > 0 && fault?.BetweenEventsDelay is { } gap && gap > TimeSpan.Zero)
            {
                await Task.Delay(gap, Options.TimeProvider, cancellation);
            }

            await WriteEventAsync(response, sseEvent, cancellation);
            sent++;
        }

        if (hold is { } last && last.Events >= sent)
        {
            await last.Gate.HoldAsync(cancellation);
        }

        if (renderer.Terminator is { } terminator)
        {
            await WriteEventAsync(response, terminator, cancellation);
        }
    }

    /// <summary>Writes one event as UTF-8 straight into the response pipe and flushes it, without building its text first.</summary>
    private static async Task WriteEventAsync(HttpResponse response, SseEvent sseEvent, CancellationToken cancellation)
    {
        var writer = response.BodyWriter;
        if (sseEvent.Name is { } name)
        {
            writer.Write("event: "u8);
            Encoding.UTF8.GetBytes(name, writer);
            writer.Write("\n"u8);
        }

        writer.Write("data: "u8);
        Encoding.UTF8.GetBytes(sseEvent.Data, writer);
        writer.Write("\n\n"u8);
        await writer.FlushAsync(cancellation);
        cancellation.ThrowIfCancellationRequested();
    }

    private static IAnswerRenderer Renderer(FakeEndpoint endpoint) => endpoint switch
    {
        FakeEndpoint.OpenAIResponses => ResponsesRenderer,
        FakeEndpoint.AnthropicMessages => MessagesRenderer,
        _ => ChatRenderer,
    };

    private static FakeFault? Combine(FakeFault? first, FakeFault? second) =>
        first is null ? second : second is null ? first : first.CombineWith(second);

    /// <summary>
    /// The real APIs' answer to a path they do not serve: OpenAI's <c>unknown_url</c> 404 and <c>Invalid method for
    /// URL</c> 405, Anthropic's plain <c>not_found_error</c>.
    /// </summary>
    private static BadRequestException UnknownRoute(FakeWireFormat format, string method, string path, bool knownPath) =>
        (format, knownPath) switch
        {
            (FakeWireFormat.OpenAI, true) => new BadRequestException(405, $"Invalid method for URL ({method} {path})"),
            (FakeWireFormat.OpenAI, false) => new BadRequestException(404,
                $"Unknown request URL: {method} {path}. Please check the URL for typos, or see the docs at https://platform.openai.com/docs/api-reference/.",
                code: "unknown_url"),
            (_, true) => new BadRequestException(405, $"Method Not Allowed: {method} {path}"),
            _ => new BadRequestException(404, "Not Found"),
        };

    private static string DefaultMessage(int status, FakeRequest request) => status switch
    {
        404 when request.WireFormat == FakeWireFormat.Anthropic => $"model: {request.Model}",
        404 => $"The model `{request.Model}` does not exist or you do not have access to it.",
        429 => "Rate limit reached. Please try again later.",
        529 => "Overloaded",
        503 => "The server is overloaded or not ready yet.",
        _ when status >= 500 => "The server had an error while processing your request. Sorry about that!",
        _ => "The request was rejected by the fake upstream's script.",
    };

    private static ParsedBody Read(FakeEndpoint endpoint, JsonObject body, JsonArray? conversation) => endpoint switch
    {
        FakeEndpoint.OpenAIChatCompletions => OpenAIRequestReader.ReadChat(body),
        FakeEndpoint.OpenAIResponses => OpenAIRequestReader.ReadResponses(body, conversation),
        FakeEndpoint.OpenAIEmbeddings => OpenAIRequestReader.ReadEmbeddings(body),
        FakeEndpoint.AnthropicMessages => AnthropicRequestReader.ReadMessages(body, requireMaxTokens: true),
        FakeEndpoint.AnthropicCountTokens => AnthropicRequestReader.ReadMessages(body, requireMaxTokens: false),
        _ => new ParsedBody(),
    };

    private static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken cancellation)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new BadRequestException(413, $"Request body too large: the fake accepts at most {MaxBodyBytes} bytes.");
        }

        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellation);
    }

    private static JsonNode ParseJson(string raw, string? contentType)
    {
        if (contentType is not null && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw new BadRequestException(400, $"Invalid Content-Type header ({contentType}), expected application/json.");
        }

        if (string.IsNullOrWhiteSpace(raw))
        {
            throw new BadRequestException(400, "The request body is empty; expected a JSON object.");
        }

        try
        {
            return JsonNode.Parse(raw) as JsonObject
                ?? throw new BadRequestException(400, "The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw new BadRequestException(400, $"We could not parse the JSON body of your request. ({e.Message})");
        }
    }

    private static FakeWireFormat DetectFormat(string path, IHeaderDictionary headers) =>
        path.StartsWith("/v1/messages", StringComparison.Ordinal)
        || headers.ContainsKey("anthropic-version")
        || (headers.ContainsKey("x-api-key") && !headers.ContainsKey("Authorization"))
            ? FakeWireFormat.Anthropic
            : FakeWireFormat.OpenAI;

    /// <summary>The endpoint a request addresses; <paramref name="allowedMethod"/> names the methods its path takes, if the fake serves the path.</summary>
    private static FakeEndpoint DetectEndpoint(string path, string method, IHeaderDictionary headers, out string? allowedMethod)
    {
        var trimmed = path.TrimEnd('/');
        var anthropic = headers.ContainsKey("anthropic-version");
        var (endpoint, expected) = trimmed switch
        {
            "/v1/chat/completions" => (FakeEndpoint.OpenAIChatCompletions, HttpMethods.Post),
            "/v1/responses" => (FakeEndpoint.OpenAIResponses, HttpMethods.Post),
            "/v1/embeddings" => (FakeEndpoint.OpenAIEmbeddings, HttpMethods.Post),
            "/v1/messages" => (FakeEndpoint.AnthropicMessages, HttpMethods.Post),
            "/v1/messages/count_tokens" => (FakeEndpoint.AnthropicCountTokens, HttpMethods.Post),
            "/v1/models" => (anthropic ? FakeEndpoint.AnthropicModels : FakeEndpoint.OpenAIModels, HttpMethods.Get),
            _ when trimmed.Length > ModelsPrefix.Length && trimmed.StartsWith(ModelsPrefix, StringComparison.Ordinal) && trimmed.IndexOf('/', ModelsPrefix.Length) < 0
                => (anthropic ? FakeEndpoint.AnthropicModelRetrieve : FakeEndpoint.OpenAIModelRetrieve, HttpMethods.Get),
            _ => (FakeEndpoint.Unknown, (string?)null),
        };
        if (endpoint != FakeEndpoint.Unknown && string.Equals(method, expected, StringComparison.OrdinalIgnoreCase))
        {
            allowedMethod = expected;
            return endpoint;
        }

        // The stored-state paths; /v1/chat/completions is both the create (POST) and the stored list (GET).
        var stored = StoredRoute.Match(trimmed, method.ToUpperInvariant(), out var storedMethods);
        if (stored is { } route)
        {
            allowedMethod = storedMethods;
            return route.Endpoint;
        }

        allowedMethod = storedMethods ?? expected;
        return FakeEndpoint.Unknown;
    }

    private static Dictionary<string, string> RedactedHeaders(IHeaderDictionary headers)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            result[name] = SecretHeaders.IsSecret(name) ? SecretHeaders.Redacted : value.ToString();
        }

        return result;
    }

    private static Task WriteJsonAsync(HttpContext context, int status, JsonObject body) => WriteJsonAsync(context, status, WireJson.Write(body));

    private static async Task WriteJsonAsync(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, context.RequestAborted);
    }

    private static Task WriteErrorAsync(HttpContext context, FakeWireFormat format, int status, string? type, string message, string? param, string requestId, string? code = null)
    {
        JsonObject body;
        if (format == FakeWireFormat.OpenAI)
        {
            var (defaultType, defaultCode) = OpenAIErrorBody.For(status);
            body = OpenAIErrorBody.Create(message, type ?? defaultType, param, code ?? defaultCode);
        }
        else
        {
            body = AnthropicErrorBody.Create(type ?? AnthropicErrorBody.TypeFor(status), message, requestId);
        }

        return WriteJsonAsync(context, status, body);
    }
}
