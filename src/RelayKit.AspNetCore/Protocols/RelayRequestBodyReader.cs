using System.Text.Json;
using System.Text.Unicode;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// Step 2, the format-independent part: checks the content type and size and parses the JSON. The body
/// is read whole (it is bounded by <see cref="ModelRelayOptions.MaxRequestBodySize"/>) because routing
/// needs its model and forwarding may rewrite it; responses, which are unbounded, are never buffered.
/// </summary>
internal static class RelayRequestBodyReader
{
    private const int ReadSize = 16 * 1024;

    // Duplicate names are refused: with {"model":"allowed","model":"other"} the relay and the upstream
    // could each read a different model, and the key's model restriction would not hold.
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    public static async Task<(RelayRequestBody? Body, RelayError? Error)> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (!IsJson(request.ContentType))
        {
            return (null, RelayError.UnsupportedContentType(request.ContentType));
        }

        if (request.ContentLength > limit)
        {
            return (null, RelayError.BodyTooLarge(limit));
        }

        // Lets a limit above the server's default (Kestrel: 30 MB) take effect, and below it fail early.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        // Pooled, and sized to the announced length: a fresh buffer per request (grown to the 16 KiB read
        // size whatever the body's length) was the request path's largest allocation. The body keeps the
        // buffer until it is disposed, because the document and the forwarded content read it in place.
        var buffer = new ArrayPoolBufferWriter<byte>((int)Math.Min(request.ContentLength ?? ReadSize, limit) + 1);
        var keep = false;
        try
        {
            // With a known length the buffer already holds it (and one byte more, to see the end): read into
            // what is left rather than ask for another 16 KiB; without one, read 16 KiB at a time.
            var readHint = request.ContentLength is null ? ReadSize : 1;
            while (true)
            {
                var read = await request.Body.ReadAsync(buffer.GetMemory(readHint), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    return (null, RelayError.BodyTooLarge(limit));
                }
            }

            var raw = buffer.WrittenMemory;

            // JSON text is UTF-8 (RFC 8259), but the parser checks the bytes inside strings only when a string is
            // read, which is later and everywhere: checked once here, whole (vectorized, a few ns per KB).
            if (!Utf8.IsValid(raw.Span))
            {
                return (null, RelayError.InvalidJson("it is not valid UTF-8 text."));
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(raw, DocumentOptions);
            }
            catch (JsonException ex)
            {
                return (null, RelayError.InvalidJson(ex.Message));
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return (null, RelayError.NotAnObject());
            }

            keep = true;
            return (new RelayRequestBody(raw, document, buffer), null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, RelayError.BodyTooLarge(limit));
        }
        catch (BadHttpRequestException)
        {
            return (null, RelayError.UnreadableBody());
        }
        catch (IOException) when (!cancellationToken.IsCancellationRequested)
        {
            // Kestrel reports some malformed framing as a plain IOException rather than a BadHttpRequestException: a
            // chunk size too large to parse (fffffffff) overflows and comes out as IOException("Bad chunk size data").
            // The caller is still there (a gone caller cancels the token), so it gets a 400 rather than the host's 500.
            return (null, RelayError.UnreadableBody());
        }
        finally
        {
            if (!keep)
            {
                buffer.Dispose();
            }
        }
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && (parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || parsed.MediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}
