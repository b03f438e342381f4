using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>
/// A set of trusted CA certificates and chain validation against them only: self-signed certificates are the trust
/// anchors (CustomRootTrust, no system roots), the others serve as intermediates. No revocation checking.
/// </summary>
public sealed class CaBundle : IDisposable
{
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2Collection _roots = [];
    private readonly X509Certificate2Collection _intermediates = [];

    public CaBundle(X509Certificate2Collection certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        foreach (var certificate in certificates)
            (certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData) ? _roots : _intermediates).Add(certificate);
        if (_roots.Count == 0)
            throw new ArgumentException("the CA bundle has no self-signed (root) certificate", nameof(certificates));
    }

    /// <summary>Every certificate of a PEM bundle file.</summary>
    public static CaBundle Load(string path) => Load([path]);

    /// <summary>Every certificate of several PEM files (each may hold several: roots and intermediates alike).</summary>
    public static CaBundle Load(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var certificates = new X509Certificate2Collection();
        foreach (var path in paths)
        {
            var before = certificates.Count;
            try
            {
                certificates.ImportFromPemFile(path);
            }
            catch (CryptographicException e)
            {
                throw new CryptographicException($"{path}: not a PEM certificate bundle: {e.Message}", e);
            }
            if (certificates.Count == before)
                throw new CryptographicException($"{path}: no certificate in the CA bundle");
        }
        return new CaBundle(certificates);
    }

    public X509Certificate2Collection Roots => _roots;

    /// <summary>
    /// Builds <paramref name="certificate"/>'s chain to one of our roots (with <paramref name="extraIntermediates"/>,
    /// e.g. what a TLS peer sent) and checks the extended key usage when <paramref name="requiredEkuOid"/> is set.
    /// Returns null when valid, else why not.
    /// </summary>
    public string? Validate(X509Certificate2 certificate, string? requiredEkuOid, X509Certificate2Collection? extraIntermediates = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        chain.ChainPolicy.ExtraStore.AddRange(_intermediates);
        if (extraIntermediates is not null)
            chain.ChainPolicy.ExtraStore.AddRange(extraIntermediates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (requiredEkuOid is not null)
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(requiredEkuOid));
        try
        {
            if (chain.Build(certificate))
                return null;
            var problems = chain.ChainStatus.Where(s => s.Status != X509ChainStatusFlags.NoError)
                .Select(s => $"{s.Status}: {s.StatusInformation.Trim()}");
            return $"certificate '{certificate.Subject}' is not trusted: {string.Join("; ", problems)}";
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                    element.Certificate.Dispose();
            }
        }
    }

    public void Dispose()
    {
        foreach (var certificate in _roots.Concat(_intermediates))
            certificate.Dispose();
    }
}
