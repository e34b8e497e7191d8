using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Requests;

/// <summary>Images and documents between OpenAI's URLs (<c>data:</c> or http) and Anthropic's <c>source</c> objects.</summary>
internal static class ImageSources
{
    private static readonly HashSet<string> AnthropicImageTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    /// <summary>An Anthropic <c>image</c> block for an OpenAI image URL.</summary>
    public static JsonObject ToAnthropicImage(string url, string path)
    {
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var (mediaType, data) = ParseDataUrl(url, path);
            if (!AnthropicImageTypes.Contains(mediaType))
            {
                throw new TranslationException(path, $"image type '{mediaType}' is not supported by Anthropic (jpeg, png, gif, webp)");
            }

            return new JsonObject
            {
                ["type"] = "image",
                ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = mediaType, ["data"] = data },
            };
        }

        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            return new JsonObject
            {
                ["type"] = "image",
                ["source"] = new JsonObject { ["type"] = "url", ["url"] = url },
            };
        }

        throw new TranslationException(path, "must be a base64 data: URL or an http(s) URL");
    }

    /// <summary>An Anthropic <c>document</c> block for an OpenAI <c>file_data</c> data URL (PDF only).</summary>
    public static JsonObject ToAnthropicDocument(string dataUrl, string? filename, string path)
    {
        var (mediaType, data) = ParseDataUrl(dataUrl, path);
        if (mediaType != "application/pdf")
        {
            throw new TranslationException(path, $"file type '{mediaType}' is not supported by Anthropic documents (application/pdf only)");
        }

        var block = new JsonObject
        {
            ["type"] = "document",
            ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = mediaType, ["data"] = data },
        };
        if (!string.IsNullOrEmpty(filename))
        {
            block["title"] = filename;
        }

        return block;
    }

    /// <summary>An OpenAI image URL (<c>data:</c> or http) for an Anthropic image <c>source</c>.</summary>
    public static string ToOpenAIImageUrl(JsonObject source, string path)
    {
        var type = JsonRead.RequireString(source["type"], JsonRead.Path(path, "type"));
        return type switch
        {
            "base64" => $"data:{JsonRead.RequireString(source["media_type"], JsonRead.Path(path, "media_type"))};base64,{JsonRead.RequireString(source["data"], JsonRead.Path(path, "data"))}",
            "url" => JsonRead.RequireString(source["url"], JsonRead.Path(path, "url")),
            _ => throw new TranslationException(JsonRead.Path(path, "type"), $"image source '{type}' has no OpenAI equivalent (base64 and url only)"),
        };
    }

    private static (string MediaType, string Data) ParseDataUrl(string url, string path)
    {
        // data:[<media type>][;base64],<data> — only the base64 form carries binary images.
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = comma < 0 ? "" : url[5..comma];
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            throw new TranslationException(path, "data: URL must be base64-encoded (data:<type>;base64,<data>)");
        }

        var mediaType = header[..^";base64".Length].Split(';')[0].Trim().ToLowerInvariant();
        return (mediaType, url[(comma + 1)..]);
    }
}
