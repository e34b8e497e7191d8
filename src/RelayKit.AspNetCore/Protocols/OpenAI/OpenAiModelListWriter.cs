using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Protocols.OpenAI;

/// <summary>
/// Writes OpenAI's <c>GET /v1/models</c> list, <c>{"object":"list","data":[model, …]}</c>, and <c>GET /v1/models/{model}</c>,
/// one model: <c>{"id","object":"model","created","owned_by","relaykit"}</c> (<c>relaykit</c>: see <see cref="ListedModelPriceWriter"/>).
/// </summary>
internal static class OpenAiModelListWriter
{
    public static Task WriteAsync(HttpResponse response, IReadOnlyList<ListedModel> models, DateTimeOffset created, CancellationToken cancellationToken) =>
        RelayJson.WriteOkAsync(response, (models, created), static (writer, list) =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var model in list.models)
            {
                WriteModel(writer, model, list.created);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }, cancellationToken);

    public static Task WriteOneAsync(HttpResponse response, ListedModel model, DateTimeOffset created, CancellationToken cancellationToken) =>
        RelayJson.WriteOkAsync(response, (model, created), static (writer, one) => WriteModel(writer, one.model, one.created), cancellationToken);

    private static void WriteModel(Utf8JsonWriter writer, ListedModel model, DateTimeOffset created)
    {
        writer.WriteStartObject();
        writer.WriteString("id", model.Id);
        writer.WriteString("object", "model");
        writer.WriteNumber("created", created.ToUnixTimeSeconds());
        writer.WriteString("owned_by", model.Provider);
        ListedModelPriceWriter.Write(writer, model.Price);
        writer.WriteEndObject();
    }
}
