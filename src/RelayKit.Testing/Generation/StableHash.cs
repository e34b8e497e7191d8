using System.Text;

namespace RelayKit.Testing.Generation;

/// <summary>
/// A hash of text that is the same in every process (string.GetHashCode is randomized per process),
/// so the same seed and request generate the same answer run after run. FNV-1a is enough: the hash
/// only seeds a generator, it guards nothing.
/// </summary>
internal static class StableHash
{
    public static int Of(int seed, params string?[] parts)
    {
        unchecked
        {
            var hash = 2166136261u ^ (uint)seed;
            foreach (var part in parts)
            {
                foreach (var b in Encoding.UTF8.GetBytes(part ?? "\0"))
                {
                    hash = (hash ^ b) * 16777619u;
                }

                hash = (hash ^ 0xFF) * 16777619u;
            }

            return (int)hash;
        }
    }
}
