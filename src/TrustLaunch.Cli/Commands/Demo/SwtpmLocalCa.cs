namespace TrustLaunch.Cli.Commands.Demo;

/// <summary>
/// The CA swtpm_setup signs EK certificates with (<c>swtpm_localca</c>): its state directory is <c>statedir</c> in
/// /etc/swtpm-localca.conf (Debian default /var/lib/swtpm-localca); the registrar's <c>--ek-ca</c> bundle is its
/// intermediate and root certificates, as a TPM manufacturer's CA would be for a real TPM.
/// </summary>
internal static class SwtpmLocalCa
{
    private const string ConfigFile = "/etc/swtpm-localca.conf";
    private const string DefaultStateDirectory = "/var/lib/swtpm-localca";

    public static string ReadBundle()
    {
        var directory = StateDirectory();
        var files = new[] { "issuercert.pem", "swtpm-localca-rootca-cert.pem" }.Select(f => Path.Combine(directory, f)).ToList();
        if (files.FirstOrDefault(f => !File.Exists(f)) is { } missing)
            throw new CliFailureException($"swtpm_setup's local CA certificate {missing} is missing (see {ConfigFile})");
        return string.Concat(files.Select(File.ReadAllText));
    }

    private static string StateDirectory()
    {
        if (!File.Exists(ConfigFile))
            return DefaultStateDirectory;
        foreach (var line in File.ReadLines(ConfigFile))
        {
            var parts = line.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0] == "statedir")
                return parts[1];
        }
        return DefaultStateDirectory;
    }
}
