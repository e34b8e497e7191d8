using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace RelayKit.Testing.Protocols;

/// <summary>
/// Model lists and single models in OpenAI's (<c>object: list</c>, <c>object: model</c>) and Anthropic's
/// (<c>data, has_more, first_id, last_id</c> pages of <c>ModelInfo</c>) formats.
/// </summary>
internal static class ModelListRenderer
{
    // Anthropic's page sizes: 20 when the request sets no limit, at most 1000.
    private const int DefaultLimit = 20;
    private const int MaxLimit = 1000;

    public static JsonObject OpenAIList(IEnumerable<string> models, long created) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(models.Select(id => (JsonNode)OpenAIModel(id, created)).ToArray()),
    };

    public static JsonObject OpenAIModel(string id, long created) => new()
    {
        ["id"] = id,
        ["object"] = "model",
        ["created"] = created,
        ["owned_by"] = id.StartsWith("claude", StringComparison.Ordinal) ? "anthropic" : "openai",
    };

    /// <summary>
    /// One page of <paramref name="models"/> (listed newest first, as configured) the way the Models API pages:
    /// <c>limit</c> items after <c>after_id</c> or before <c>before_id</c>, or from the start; <c>has_more</c> says
    /// whether more lie beyond the page in the direction asked, <c>first_id</c>/<c>last_id</c> are the page's ends.
    /// </summary>
    public static JsonObject AnthropicPage(IReadOnlyList<string> models, DateTimeOffset created, IQueryCollection query)
    {
        var limit = Limit(query["limit"]);
        var afterId = NonEmpty(query["after_id"]);
        var beforeId = NonEmpty(query["before_id"]);
        if (afterId is not null && beforeId is not null)
        {
            throw new BadRequestException(400, "after_id and before_id cannot both be set; page in one direction at a time.");
        }

        int start, end;
        bool hasMore;
        if (beforeId is not null)
        {
            end = IndexOf(models, beforeId, "before_id");
            start = Math.Max(0, end - limit);
            hasMore = start > 0;
        }
        else
        {
            start = afterId is null ? 0 : IndexOf(models, afterId, "after_id") + 1;
            end = Math.Min(models.Count, start + limit);
            hasMore = end < models.Count;
        }

        var page = models.Skip(start).Take(end - start).ToList();
        return new JsonObject
        {
            ["data"] = new JsonArray(page.Select(id => (JsonNode)AnthropicModel(id, created)).ToArray()),
            ["has_more"] = hasMore,
            ["first_id"] = page.Count == 0 ? null : page[0],
            ["last_id"] = page.Count == 0 ? null : page[^1],
        };
    }

    /// <summary>
    /// Anthropic's <c>ModelInfo</c>, with every field the official SDK requires. Limits and capabilities are those of
    /// the current Claude models; <c>line</c> is the family the id names, null for an id that names none.
    /// </summary>
    public static JsonObject AnthropicModel(string id, DateTimeOffset created) => new()
    {
        ["type"] = "model",
        ["id"] = id,
        ["display_name"] = DisplayName(id),
        ["created_at"] = created.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["lifecycle"] = "active",
        ["deprecated_at"] = null,
        ["retires_at"] = null,
        ["line"] = new[] { "opus", "sonnet", "haiku" }.FirstOrDefault(line => id.Contains(line, StringComparison.Ordinal)),
        ["max_input_tokens"] = 200_000,
        ["max_tokens"] = 64_000,
        ["capabilities"] = Capabilities(),
    };

    /// <summary>Anthropic's display style: <c>claude-sonnet-4-5</c> is shown as <c>Claude Sonnet 4.5</c>.</summary>
    internal static string DisplayName(string id)
    {
        var words = new List<string>();
        var version = new List<string>();
        foreach (var part in id.Split('-', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.All(char.IsAsciiDigit) && part.Length <= 2)
            {
                version.Add(part);
            }
            else if (version.Count == 0)
            {
                words.Add(char.ToUpperInvariant(part[0]) + part[1..]);
            }
        }

        return version.Count == 0 ? string.Join(' ', words) : string.Join(' ', words) + " " + string.Join('.', version);
    }

    private static JsonObject Capabilities() => new()
    {
        ["batch"] = Supported(),
        ["citations"] = Supported(),
        ["code_execution"] = Supported(),
        ["context_management"] = new JsonObject
        {
            ["supported"] = true,
            ["clear_thinking_20251015"] = Supported(),
            ["clear_tool_uses_20250919"] = Supported(),
            ["compact_20260112"] = Supported(),
        },
        ["effort"] = new JsonObject
        {
            ["supported"] = true,
            ["low"] = Supported(),
            ["medium"] = Supported(),
            ["high"] = Supported(),
            ["max"] = Supported(),
            ["xhigh"] = Supported(false),
        },
        ["image_input"] = Supported(),
        ["pdf_input"] = Supported(),
        ["server_tools"] = new JsonObject
        {
            ["supported"] = true,
            ["code_execution"] = Supported(),
            ["web_search"] = Supported(),
        },
        ["structured_outputs"] = Supported(),
        ["thinking"] = new JsonObject
        {
            ["supported"] = true,
            ["types"] = new JsonObject
            {
                ["adaptive"] = Supported(),
                ["between_tools"] = Supported(),
                ["disabled"] = Supported(),
                ["enabled"] = Supported(),
            },
        },
    };

    private static JsonObject Supported(bool supported = true) => new() { ["supported"] = supported };

    private static int Limit(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return DefaultLimit;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit))
        {
            throw new BadRequestException(400, "limit: Input should be a valid integer, unable to parse string as an integer", "limit");
        }

        return limit switch
        {
            < 1 => throw new BadRequestException(400, "limit: Input should be greater than or equal to 1", "limit"),
            > MaxLimit => throw new BadRequestException(400, $"limit: Input should be less than or equal to {MaxLimit}", "limit"),
            _ => limit,
        };
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static int IndexOf(IReadOnlyList<string> models, string id, string parameter)
    {
        for (var i = 0; i < models.Count; i++)
        {
            if (models[i] == id)
            {
                return i;
            }
        }

        throw new BadRequestException(400, $"{parameter}: no model with id '{id}' is in the list.", parameter);
    }
}
