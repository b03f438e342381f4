using System.Security.Cryptography;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs.Secrets;

/// <summary>
/// The keys sealed secrets may be signed with, by <c>kid</c>: a directory of <c>KID.pem</c> files, each one P-256
/// public key (SPKI PEM). The file name is the kid because CoCo's kid is the publisher's name for the key, not a
/// thumbprint; <c>trustlaunch secret seal</c> uses the key's RFC 7638 thumbprint when no <c>--kid</c> is given.
/// </summary>
public sealed class SealedSecretSigners : IDisposable
{
    private readonly Dictionary<string, ECDsa> _byKid;

    public SealedSecretSigners(IReadOnlyDictionary<string, ECDsa> byKid)
    {
        _byKid = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var (kid, key) in byKid)
        {
            if (!SealedSecret.IsKid(kid))
                throw new ArgumentException($"kid '{kid}' is not {SealedSecret.KidRule}", nameof(byKid));
            if (key.KeySize != 256)
                throw new ArgumentException($"kid '{kid}' is not a P-256 key", nameof(byKid));
            _byKid[kid] = key;
        }
    }

    public IReadOnlyCollection<string> Kids => _byKid.Keys;

    /// <exception cref="SealedSecretException">The directory is missing or empty, or a file is not one P-256 public key.</exception>
    public static SealedSecretSigners Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new SealedSecretException($"sealed secret signers directory '{directory}' does not exist");
        var keys = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var path in Directory.GetFiles(directory, "*.pem").Order(StringComparer.Ordinal))
        {
            var kid = Path.GetFileNameWithoutExtension(path);
            if (!SealedSecret.IsKid(kid))
                throw new SealedSecretException($"sealed secret signer '{path}': the file name '{kid}' is not {SealedSecret.KidRule}");
            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(File.ReadAllText(path));
                if (JwkCurves.Name(key.ExportParameters(false).Curve) != JwkCurves.P256)
                    throw new CryptographicException("not a P-256 key");
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                key.Dispose();
                throw new SealedSecretException($"sealed secret signer '{path}' is not a P-256 public key PEM: {e.Message}");
            }
            keys[kid] = key;
        }
        if (keys.Count == 0)
            throw new SealedSecretException($"sealed secret signers directory '{directory}' holds no KID.pem file");
        return new SealedSecretSigners(keys);
    }

    internal bool TryGet(string kid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ECDsa? key) => _byKid.TryGetValue(kid, out key);

    public void Dispose()
    {
        foreach (var key in _byKid.Values)
            key.Dispose();
    }
}
