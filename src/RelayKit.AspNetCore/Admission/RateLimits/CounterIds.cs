using System.Globalization;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Names of counters. Key names are length-prefixed where a model follows, so that no key name and
/// model name can combine into another pair's counter.
/// </summary>
internal static class CounterIds
{
    public static string Key(string keyName) => "key/" + keyName;

    public static string Model(string modelEntry) => "model/" + modelEntry.ToLowerInvariant();

    public static string KeyModel(string keyName, string modelEntry) =>
        string.Create(CultureInfo.InvariantCulture, $"key-model/{keyName.Length}:{keyName}/{modelEntry.ToLowerInvariant()}");

    public static string Requests(string counterId) => counterId + "/rpm";

    public static string Tokens(string counterId) => counterId + "/tpm";

    public static string Concurrency(string counterId) => counterId + "/concurrency";
}
