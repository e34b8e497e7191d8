namespace RelayKit.AspNetCore.Tests.Faults;

internal static class DictionaryExtensions
{
    /// <summary>The list under <paramref name="key"/>, added empty when there is none.</summary>
    public static List<T> GetOrAdd<T>(this Dictionary<string, List<T>> dictionary, string key)
    {
        if (!dictionary.TryGetValue(key, out var list))
        {
            list = [];
            dictionary[key] = list;
        }

        return list;
    }
}
