using System.Buffers;
using System.Text;

namespace RelayKit.Testing.Generation;

/// <summary>
/// A hash of text that is the same in every process (string.GetHashCode is randomized per process),
/// so the same seed and request generate the same answer run after run. FNV-1a is enough: the hash
/// only seeds a generator, it guards nothing.
/// </summary>
internal static class StableHash
{
    // Parts up to this many chars are encoded on the stack (3 UTF-8 bytes per char at most), longer ones in a rented array.
    private const int SmallPart = 256;

    public static int Of(int seed, params string?[] parts)
    {
        unchecked
        {
            var hash = 2166136261u ^ (uint)seed;
            Span<byte> small = stackalloc byte[SmallPart * 3];
            foreach (var part in parts)
            {
                var text = (part ?? "\0").AsSpan();
                var rented = text.Length > SmallPart ? ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length)) : null;
                var buffer = rented ?? small;
                foreach (var b in buffer[..Encoding.UTF8.GetBytes(text, buffer)])
                {
                    hash = (hash ^ b) * 16777619u;
                }

                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }

                hash = (hash ^ 0xFF) * 16777619u;
            }

            return (int)hash;
        }
    }
}
