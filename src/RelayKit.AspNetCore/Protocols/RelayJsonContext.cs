using System.Text.Json;
using System.Text.Json.Serialization;
using RelayKit.AspNetCore.Admin;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// The JSON the relay owns (the operations API, the caller's balance, cost and estimate answers, the usage page's data), written by the
/// source generator with the one casing the relay uses everywhere: snake_case, as the providers' own APIs. Nulls are
/// left out; a request body with a field the record does not have is refused rather than ignored.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(KeyView))]
[JsonSerializable(typeof(KeyListView))]
[JsonSerializable(typeof(BalanceView))]
[JsonSerializable(typeof(CreditView))]
[JsonSerializable(typeof(LedgerPageView))]
[JsonSerializable(typeof(AdminErrorView))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(TopUpRequest))]
[JsonSerializable(typeof(RefundRequest))]
[JsonSerializable(typeof(UsageListView))]
[JsonSerializable(typeof(SpendView))]
[JsonSerializable(typeof(CallerBalanceView))]
[JsonSerializable(typeof(RequestCostView))]
[JsonSerializable(typeof(EstimateView))]
[JsonSerializable(typeof(KeyUsageView))]
internal sealed partial class RelayJsonContext : JsonSerializerContext;
