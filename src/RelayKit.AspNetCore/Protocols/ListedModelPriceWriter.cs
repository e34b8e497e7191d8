using System.Text.Json;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// Writes the relay's own field on a listed model, beside the format's standard fields (which the SDKs parse
/// and which stay untouched): <c>"relaykit":{"price":{"currency":"USD","per":"1M tokens","free":false,
/// "input":1.25,"output":10,"cached_input":0.125,"cache_write":1.5}}</c>, the price a metered key is charged
/// (configured, else built-in; cached input and cache write default to input); a free model has
/// <c>"free":true</c> and zeros; a model without a price has <c>"price":null</c>.
/// </summary>
internal static class ListedModelPriceWriter
{
    public static void Write(Utf8JsonWriter writer, ModelPrice? price)
    {
        writer.WriteStartObject("relaykit");
        if (price is null)
        {
            writer.WriteNull("price");
        }
        else
        {
            writer.WriteStartObject("price");
            writer.WriteString("currency", "USD");
            writer.WriteString("per", "1M tokens");
            writer.WriteBoolean("free", price.Free);
            writer.WriteNumber("input", Plain(price.Free ? 0m : price.Input));
            writer.WriteNumber("output", Plain(price.Free ? 0m : price.Output));
            writer.WriteNumber("cached_input", Plain(price.Free ? 0m : price.EffectiveCachedInput));
            writer.WriteNumber("cache_write", Plain(price.Free ? 0m : price.EffectiveCacheWrite));
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    // Drops trailing zeros a configured or built-in decimal may carry (10.00 is written 10).
    private static decimal Plain(decimal value) => value / 1.0000000000000000000000000000m;
}
