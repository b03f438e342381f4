using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

public sealed partial class CertificateAuthority
{
    /// <summary>
    /// Revokes every certificate issued to <paramref name="name"/> that is not revoked yet and publishes the new CRL
    /// (CRL number + 1) to the key directory and the TLS directory, where running services pick it up at their next
    /// handshake. Returns the serial numbers revoked now (empty when all already were).
    /// </summary>
    public IReadOnlyList<string> Revoke(string name, X509RevocationReason? reason = null)
    {
        ValidateName(name);
        var issued = IssuedTo(name);
        if (issued.Count == 0)
            throw new FileNotFoundException($"this CA has issued no certificate named '{name}' (nothing in {IssuedPath(name)})");
        try
        {
            var pem = File.ReadAllText(Path.Combine(KeyDirectory, RevocationListFile.FileName));
            var builder = CertificateRevocationListBuilder.LoadPem(pem, out var number);
            var current = CurrentRevocationList(pem);
            var now = DateTimeOffset.UtcNow;
            var revoked = new List<string>();
            foreach (var certificate in issued.Where(c => !current.IsRevoked(c)))
            {
                builder.AddEntry(certificate, now, reason);
                revoked.Add(certificate.SerialNumber);
            }
            if (revoked.Count > 0)
                PublishRevocationList(builder, number + 1);
            return revoked;
        }
        finally
        {
            foreach (var certificate in issued)
                certificate.Dispose();
        }
    }

    private RevocationList CurrentRevocationList(string pem)
    {
        var fields = PemEncoding.Find(pem);
        using var trust = new CaBundle([X509CertificateLoader.LoadCertificate(_certificate.RawData)]);
        return RevocationList.Decode(Convert.FromBase64String(pem[fields.Base64Data]), trust);
    }

    /// <summary>Signs the CRL (valid until the CA expires) and writes it to both directories, each by an atomic rename.</summary>
    private void PublishRevocationList(CertificateRevocationListBuilder builder, BigInteger number)
    {
        var der = builder.Build(_certificate, number, new DateTimeOffset(_certificate.NotAfter), HashAlgorithmName.SHA256, thisUpdate: DateTimeOffset.UtcNow - ClockSkew);
        var pem = PemEncoding.WriteString("X509 CRL", der);
        foreach (var directory in new[] { KeyDirectory, Directory })
            KeyFiles.WritePublic(Path.Combine(directory, RevocationListFile.FileName), pem);
    }
}
