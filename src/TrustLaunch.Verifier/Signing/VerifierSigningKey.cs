using System.Security.Cryptography;
using TrustLaunch.Hosting.Storage;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Verifier.Signing;

/// <summary>
/// The verifier's ES256 key: signs attestation results (EAR JWTs) and revocation notifications. Kept as a PKCS#8 PEM
/// file (mode 0600) in the data directory and made on first start; relying parties fetch the public key from
/// <c>GET /v1/keys</c> and match it by <c>kid</c> (RFC 7638 thumbprint).
/// </summary>
public sealed class VerifierSigningKey : IDisposable
{
    public const string FileName = "verifier-signing.key";

    private readonly PemPayloadSigner _signer;

    private VerifierSigningKey(PemPayloadSigner signer, string publicKeyPem)
    {
        _signer = signer;
        PublicKeyPem = publicKeyPem;
    }

    public IPayloadSigner Signer => _signer;
    public string KeyId => _signer.KeyId;
    public string PublicKeyPem { get; }

    public static VerifierSigningKey LoadOrCreate(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        PrivateFiles.CreateDirectory(dataDirectory);
        if (!File.Exists(path))
        {
            using var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var temporary = path + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(created.ExportPkcs8PrivateKeyPem());
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path);
        }
        var pem = File.ReadAllText(path);
        using var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return new VerifierSigningKey(PemPayloadSigner.FromPem(pem, JwsAlgorithms.ES256, path), key.ExportSubjectPublicKeyInfoPem());
    }

    public void Dispose() => _signer.Dispose();
}
