using System.Net;

namespace TrustLaunch.Hosting.Web;

/// <summary>
/// One HTTPS listener of a service. <c>RequireClientCertificate</c>: mutual TLS, the handshake fails without a
/// client certificate chaining to our CA; otherwise a client certificate is optional (ports agents call, and public
/// ones like the verifier's key), but one that is presented must chain to our CA, so a handler can rely on it.
/// </summary>
public sealed record ServiceEndpoint(string Name, IPEndPoint Address, bool RequireClientCertificate)
{
    /// <summary>Parses <c>HOST:PORT</c> (IPv4, <c>[IPv6]:PORT</c>, or <c>localhost:PORT</c>).</summary>
    public static IPEndPoint ParseAddress(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var normalized = value.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) ? "127.0.0.1" + value["localhost".Length..] : value;
        if (!IPEndPoint.TryParse(normalized, out var endpoint) || endpoint.Port == 0)
            throw new FormatException($"invalid listen address '{value}': expected IP:PORT (e.g. 127.0.0.1:8890 or [::1]:8890) with a non-zero port");
        return endpoint;
    }
}
