using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Protocols.Anthropic;

/// <summary>
/// Writes Anthropic's <c>GET /v1/models</c> page, <c>{"data":[model, …],"has_more","first_id","last_id"}</c>, and
/// <c>GET /v1/models/{model_id}</c>, one model: <c>{"type":"model","id","display_name","created_at","relaykit"}</c>
/// (<c>relaykit</c>: see <see cref="ListedModelPriceWriter"/>).
/// </summary>
internal static class AnthropicModelListWriter
{
    public static async Task WriteAsync(HttpResponse response, IReadOnlyList<ListedModel> models, DateTimeOffset created, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, RelayJson.WriterOptions);
        writer.WriteStartObject();
        writer.WriteStartArray("data");
        foreach (var model in models)
        {
            WriteModel(writer, model, created);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("has_more", false);
        WriteNullableString(writer, "first_id", models.Count > 0 ? models[0].Id : null);
        WriteNullableString(writer, "last_id", models.Count > 0 ? models[^1].Id : null);
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
    }

    public static async Task WriteOneAsync(HttpResponse response, ListedModel model, DateTimeOffset created, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, RelayJson.WriterOptions);
        WriteModel(writer, model, created);
        await writer.FlushAsync(cancellationToken);
    }

    private static void WriteModel(Utf8JsonWriter writer, ListedModel model, DateTimeOffset created)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "model");
        writer.WriteString("id", model.Id);
        writer.WriteString("display_name", model.Id);
        writer.WriteString("created_at", created.UtcDateTime);
        ListedModelPriceWriter.Write(writer, model.Price);
        writer.WriteEndObject();
    }

    private static void WriteNullableString(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
