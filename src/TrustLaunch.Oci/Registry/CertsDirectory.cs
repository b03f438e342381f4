using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Oci.Registry;

/// <summary>The TLS settings of one registry host from its certs.d directory.</summary>
/// <param name="Roots">CA certificates trusted for this host besides the system roots (<c>*.crt</c>).</param>
/// <param name="ClientCertificates">Client certificates with their keys (<c>NAME.cert</c> + <c>NAME.key</c>).</param>
public sealed record HostTls(string Directory, X509Certificate2Collection Roots, X509Certificate2Collection ClientCertificates);

/// <summary>
/// Per-registry TLS material as containers/image reads it: <c>DIR/HOST[:PORT]/</c> (default
/// <c>/etc/containers/certs.d</c>) with <c>*.crt</c> CA certificates and <c>NAME.cert</c>/<c>NAME.key</c> client key
/// pairs (PEM). A <c>.cert</c> without its <c>.key</c>, or a key without its certificate, is refused.
/// </summary>
public sealed class CertsDirectory(string root)
{
    public const string DefaultPath = "/etc/containers/certs.d";

    public string Root { get; } = root;

    /// <summary>Whether <paramref name="host"/> has a directory here: its operator gave TLS material for it, so it speaks TLS.</summary>
    public bool Has(string host) => !host.Contains('/', StringComparison.Ordinal) && host is not ("." or "..") && Directory.Exists(Path.Combine(Root, host));

    /// <summary>The settings for <paramref name="host"/> (as in references, <c>HOST:PORT</c>), or null when it has no directory.</summary>
    /// <exception cref="FormatException">An unusable file, naming it.</exception>
    public HostTls? For(string host)
    {
        if (host.Contains('/', StringComparison.Ordinal) || host is "." or "..")
            return null;
        var directory = Path.Combine(Root, host);
        if (!Directory.Exists(directory))
            return null;
        var roots = new X509Certificate2Collection();
        var clients = new X509Certificate2Collection();
        foreach (var file in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
        {
            try
            {
                switch (Path.GetExtension(file))
                {
                    case ".crt":
                        roots.ImportFromPemFile(file);
                        break;
                    case ".cert":
                        var key = Path.ChangeExtension(file, ".key");
                        if (!File.Exists(key))
                            throw new FormatException($"certs.d {file}: client certificate without its key {Path.GetFileName(key)}");
                        clients.Add(X509Certificate2.CreateFromPemFile(file, key));
                        break;
                    case ".key":
                        if (!File.Exists(Path.ChangeExtension(file, ".cert")))
                            throw new FormatException($"certs.d {file}: key without its client certificate {Path.GetFileNameWithoutExtension(file)}.cert");
                        break;
                }
            }
            catch (CryptographicException e)
            {
                throw new FormatException($"certs.d {file}: {e.Message}");
            }
        }
        return new HostTls(directory, roots, clients);
    }
}
