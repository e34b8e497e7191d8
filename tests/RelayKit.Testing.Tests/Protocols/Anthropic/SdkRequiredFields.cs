using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Anthropic.Core;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>
/// The fields of a JSON answer that the official Anthropic SDK's model types mark <c>required</c> and the answer
/// lacks. The SDK reads a required-but-nullable field that is absent as null and its <c>Validate()</c> passes, so a
/// forgotten <c>container</c> or <c>stop_details</c> goes unseen by SDK tests; this walks the JSON beside the SDK
/// type instead: every C# <c>required</c> member must be present (null allowed), in nested models, lists and union
/// variants (the variant the SDK itself picks). The JSON key of each member is the one the SDK writes when the
/// member is set, so no naming rule is guessed.
/// </summary>
internal static class SdkRequiredFields
{
    private static readonly ConcurrentDictionary<PropertyInfo, string> Keys = new();

    /// <summary>The paths (<c>$.usage.server_tool_use</c>) of required fields missing from <paramref name="json"/> read as <typeparamref name="T"/>.</summary>
    public static List<string> Missing<T>(string json) where T : ModelBase => Missing(typeof(T), json);

    public static List<string> Missing(Type type, string json)
    {
        using var document = JsonDocument.Parse(json);
        var missing = new List<string>();
        Walk(type, document.RootElement, "$", missing);
        return missing;
    }

    /// <summary>The JSON key the SDK stores <paramref name="property"/> under, found by setting it on an empty model.</summary>
    public static string KeyOf(PropertyInfo property) => Keys.GetOrAdd(property, static p =>
    {
        var owner = p.DeclaringType!;
        var before = ((JsonModel)Activator.CreateInstance(owner)!).RawData.Keys.ToHashSet();
        var model = (JsonModel)Activator.CreateInstance(owner)!;
        p.SetValue(model, Placeholder(p.PropertyType));
        return model.RawData.Keys.Single(k => !before.Contains(k));
    });

    private static void Walk(Type type, JsonElement json, string path, List<string> missing)
    {
        if (json.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (typeof(JsonModel).IsAssignableFrom(type))
        {
            if (json.ValueKind != JsonValueKind.Object)
            {
                missing.Add($"{path} (not an object, expected {type.Name})");
                return;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                var required = property.IsDefined(typeof(RequiredMemberAttribute));
                if (!required && !IsModel(property.PropertyType))
                {
                    continue;
                }

                var key = KeyOf(property);
                if (!json.TryGetProperty(key, out var value))
                {
                    if (required)
                    {
                        missing.Add($"{path}.{key}");
                    }

                    continue;
                }

                Walk(property.PropertyType, value, $"{path}.{key}", missing);
            }
        }
        else if (typeof(ModelBase).IsAssignableFrom(type))
        {
            // A union: the SDK picks the variant (by "type" or by shape); walk the JSON as that variant.
            var union = json.Deserialize(type)!;
            switch (type.GetProperty("Value")?.GetValue(union))
            {
                case JsonModel variant:
                    Walk(variant.GetType(), json, path, missing);
                    break;
                case null:
                    missing.Add($"{path} (matches no {type.Name} variant)");
                    break;
            }
        }
        else if (ListElement(type) is { } element && json.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in json.EnumerateArray())
            {
                Walk(element, item, $"{path}[{index++}]", missing);
            }
        }
    }

    private static bool IsModel(Type type) =>
        typeof(ModelBase).IsAssignableFrom(type) || (ListElement(type) is { } element && typeof(ModelBase).IsAssignableFrom(element));

    private static Type? ListElement(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) ? type.GetGenericArguments()[0] : null;

    private static object? Placeholder(Type type)
    {
        if (ListElement(type) is { } element)
        {
            return Array.CreateInstance(element, 0);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            return Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(type.GetGenericArguments()));
        }

        return type.IsValueType && Nullable.GetUnderlyingType(type) is null ? Activator.CreateInstance(type) : null;
    }
}
