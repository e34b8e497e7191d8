using System.Text.Json;
using System.Text.Json.Serialization;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// How a usage record is kept in the ledger's outbox and a settle in the spool, until the drainer or the retrier takes
/// it: JSON written by the source generator. Read back only by this relay, so the record comes back as it went in.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.General)]
[JsonSerializable(typeof(UsageRecord))]
[JsonSerializable(typeof(SettleOrder))]
internal sealed partial class UsageOutboxJson : JsonSerializerContext
{
    public static string Serialize(UsageRecord record) => JsonSerializer.Serialize(record, Default.UsageRecord);

    public static UsageRecord DeserializeRecord(string json) =>
        JsonSerializer.Deserialize(json, Default.UsageRecord) ?? throw new JsonException("An outbox record is empty.");

    public static string Serialize(SettleOrder order) => JsonSerializer.Serialize(order, Default.SettleOrder);

    public static SettleOrder DeserializeOrder(string json) =>
        JsonSerializer.Deserialize(json, Default.SettleOrder) ?? throw new JsonException("A spooled settle is empty.");
}
