using System.Text;

namespace TrustLaunch.Hsm;

/// <summary>
/// Where a PIN comes from: <c>TRUSTLAUNCH_HSM_PIN</c>, a file (first line), or standard input (first line, never
/// echoed because it is read, not prompted). PINs are bytes; callers wipe them with <see cref="Array.Clear(Array)"/>.
/// </summary>
public static class PinSource
{
    public const string EnvironmentVariable = "TRUSTLAUNCH_HSM_PIN";

    /// <summary>The PIN from <paramref name="file"/> (<c>-</c> = stdin), else the environment; null when neither.</summary>
    public static byte[]? Read(string? file, TextReader? stdin = null, string environmentVariable = EnvironmentVariable)
    {
        if (!string.IsNullOrEmpty(file))
        {
            if (file == "-")
                return FirstLine(Encoding.UTF8.GetBytes((stdin ?? Console.In).ReadLine() ?? ""));
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

    private static byte[] FirstLine(byte[] raw)
    {
        var end = Array.IndexOf(raw, (byte)'\n');
        if (end < 0) end = raw.Length;
        if (end > 0 && raw[end - 1] == '\r') end--;
        return raw[..end];
    }
}
