using System.Security.Cryptography;
using System.Text;

namespace TrustLaunch.Hsm;

/// <summary>
/// Where a PIN comes from: <c>TRUSTLAUNCH_HSM_PIN</c>, a file (first line), or standard input (first line, never
/// echoed because it is read, not prompted). PINs are bytes; callers wipe them with <see cref="Array.Clear(Array)"/>.
/// </summary>
public static class PinSource
{
    public const string EnvironmentVariable = "TRUSTLAUNCH_HSM_PIN";

    /// <summary>Longer than any token's PIN (SoftHSM: 255 bytes); a longer first line is not a PIN.</summary>
    public const int MaxPinBytes = 1024;

    /// <summary>The PIN from <paramref name="file"/> (<c>-</c> = <paramref name="stdin"/>, else standard input), else
    /// the environment; null when neither.</summary>
    public static byte[]? Read(string? file, Stream? stdin = null, string environmentVariable = EnvironmentVariable)
    {
        if (!string.IsNullOrEmpty(file))
        {
            if (file == "-")
                return ReadFirstLine(stdin ?? Console.OpenStandardInput(), new byte[MaxPinBytes]);
            var raw = File.ReadAllBytes(file);
            try
            {
                return FirstLine(raw);
            }
            finally
            {
                Array.Clear(raw);
            }
        }
        var env = Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrEmpty(env) ? null : Encoding.UTF8.GetBytes(env);
    }

    /// <summary>
    /// The first line of <paramref name="input"/>, read a byte at a time (nothing after the newline is consumed, and
    /// no string or reader buffer ever holds the PIN); <paramref name="scratch"/> is wiped before this returns.
    /// </summary>
    internal static byte[] ReadFirstLine(Stream input, byte[] scratch)
    {
        try
        {
            var length = 0;
            for (var b = input.ReadByte(); b is >= 0 and not '\n'; b = input.ReadByte())
            {
                if (length == scratch.Length)
                    throw new InvalidDataException($"the PIN on standard input is longer than {scratch.Length} bytes");
                scratch[length++] = (byte)b;
            }
            return FirstLine(scratch.AsSpan(0, length));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scratch);
        }
    }

    private static byte[] FirstLine(ReadOnlySpan<byte> raw)
    {
        var end = raw.IndexOf((byte)'\n');
        if (end < 0) end = raw.Length;
        if (end > 0 && raw[end - 1] == '\r') end--;
        return raw[..end].ToArray();
    }
}
