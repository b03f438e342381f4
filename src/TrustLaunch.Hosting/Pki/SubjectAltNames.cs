using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>The DNS names and IP addresses a server certificate answers for, given explicitly (never defaulted).</summary>
public sealed record SubjectAltNames(IReadOnlyList<string> DnsNames, IReadOnlyList<IPAddress> IpAddresses)
{
    public static SubjectAltNames None { get; } = new([], []);

    public bool IsEmpty => DnsNames.Count == 0 && IpAddresses.Count == 0;

    /// <summary>Parses <c>DNS:name</c> and <c>IP:address</c> entries, each value possibly a comma-separated list
    /// (<c>--san DNS:x,IP:y --san IP:z</c>).</summary>
    public static SubjectAltNames Parse(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var dns = new List<string>();
        var ips = new List<IPAddress>();
        foreach (var entry in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var (kind, value) = colon < 0 ? ("", entry) : (entry[..colon], entry[(colon + 1)..]);
            if (kind.Equals("DNS", StringComparison.OrdinalIgnoreCase) && IsDnsName(value))
                dns.Add(value.ToLowerInvariant());
            else if (kind.Equals("IP", StringComparison.OrdinalIgnoreCase) && IPAddress.TryParse(value, out var address))
                ips.Add(address);
            else
                throw new FormatException($"invalid subject alternative name '{entry}': expected DNS:NAME or IP:ADDRESS");
        }
        return new SubjectAltNames(dns, ips);
    }

    /// <summary>The DNS names and IP addresses of <paramref name="certificate"/>'s SAN extension.</summary>
    public static SubjectAltNames Read(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SingleOrDefault();
        return san is null ? None : new SubjectAltNames([.. san.EnumerateDnsNames()], [.. san.EnumerateIPAddresses()]);
    }

    public override string ToString() => string.Join(",", DnsNames.Select(d => "DNS:" + d).Concat(IpAddresses.Select(a => "IP:" + a)));

    private static bool IsDnsName(string value) =>
        value.Length is > 0 and <= 253 && Uri.CheckHostName(value.StartsWith("*.", StringComparison.Ordinal) ? value[2..] : value) == UriHostNameType.Dns;
}
