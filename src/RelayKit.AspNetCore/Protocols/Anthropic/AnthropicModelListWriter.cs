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
    public static Task WriteAsync(HttpResponse response, IReadOnlyList<ListedModel> models, DateTimeOffset created, CancellationToken cancellationToken) =>
        RelayJson.WriteOkAsync(response, (models, created), static (writer, page) =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("data");
            foreach (var model in page.models)
            {
                WriteModel(writer, model, page.created);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("has_more", false);
            WriteNullableString(writer, "first_id", page.models.Count > 0 ? page.models[0].Id : null);
            WriteNullableString(writer, "last_id", page.models.Count > 0 ? page.models[^1].Id : null);
            writer.WriteEndObject();
        }, cancellationToken);

    public static Task WriteOneAsync(HttpResponse response, ListedModel model, DateTimeOffset created, CancellationToken cancellationToken) =>
        RelayJson.WriteOkAsync(response, (model, created), static (writer, one) => WriteModel(writer, one.model, one.created), cancellationToken);

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
