using System.Globalization;

namespace TrustLaunch.Tpm.Transport;

/// <summary>
/// Opens a transport from a tpm2-tools-style TCTI string: <c>swtpm:host=127.0.0.1,port=2321</c>,
/// <c>device:/dev/tpmrm0</c>. The default comes from <c>TRUSTLAUNCH_TPM</c>, else <c>device:/dev/tpmrm0</c>.
/// </summary>
public static class TpmTransports
{
    public const string EnvironmentVariable = "TRUSTLAUNCH_TPM";
    public const string DefaultDevice = "device:/dev/tpmrm0";

    /// <summary>How long one command may take: longer than a TPM needs to create an RSA primary key.</summary>
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromMinutes(2);

    public static string DefaultSpec =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } spec ? spec : DefaultDevice;

    public static ITpmTransport Open(string? spec = null)
    {
        spec ??= DefaultSpec;
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? spec : spec[..colon];
        var config = colon < 0 ? "" : spec[(colon + 1)..];
        return kind switch
        {
            "swtpm" => OpenSwtpm(config, spec),
            "device" => new DeviceTransport(config.Length == 0 ? "/dev/tpmrm0" : config),
            _ => throw new ArgumentException($"unknown TPM transport '{kind}' in '{spec}': use swtpm:host=H,port=P or device:PATH"),
        };
    }

    private static SwtpmSocketTransport OpenSwtpm(string config, string spec)
    {
        var host = "localhost";
        var port = 2321;
        foreach (var pair in config.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : pair[(eq + 1)..];
            switch (key)
            {
                case "host" when value.Length > 0:
                    host = value;
                    break;
                case "port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536:
                    port = p;
                    break;
                default:
                    throw new ArgumentException($"bad swtpm option '{pair}' in '{spec}': expected host=NAME or port=1..65535");
            }
        }
        return new SwtpmSocketTransport(host, port);
    }
}
