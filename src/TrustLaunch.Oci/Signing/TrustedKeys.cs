using TrustLaunch.Jose;
namespace TrustLaunch.Oci.Signing;

/// <summary>
/// Publisher keys a verifier trusts, by key id (RFC 7638 thumbprint). Loaded from one PEM file (which may hold
/// several <c>PUBLIC KEY</c> blocks) or a directory of <c>*.pem</c> files.
/// </summary>
public sealed class TrustedKeys
{
    private readonly Dictionary<string, IPayloadVerifier> _byKeyId;

    public TrustedKeys(IEnumerable<IPayloadVerifier> verifiers)
    {
        _byKeyId = new Dictionary<string, IPayloadVerifier>(StringComparer.Ordinal);
        foreach (var v in verifiers)
            _byKeyId[v.KeyId] = v;
    }

    public IReadOnlyCollection<string> KeyIds => _byKeyId.Keys;

    public bool TryGet(string keyId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPayloadVerifier? verifier) =>
        _byKeyId.TryGetValue(keyId, out verifier);

    /// <summary>Loads a file or every <c>*.pem</c> file of a directory (not recursive, sorted by name).</summary>
    public static TrustedKeys Load(string fileOrDirectory)
    {
        if (Directory.Exists(fileOrDirectory))
        {
            var files = Directory.GetFiles(fileOrDirectory, "*.pem").Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
                throw new FileNotFoundException($"trusted keys directory '{fileOrDirectory}' holds no *.pem file");
            return new TrustedKeys(files.SelectMany(LoadFile));
        }
        return new TrustedKeys(LoadFile(fileOrDirectory));
    }

    private static IEnumerable<IPayloadVerifier> LoadFile(string path)
    {
        var text = File.ReadAllText(path);
        var found = new List<IPayloadVerifier>();
        var rest = text.AsMemory();
        while (System.Security.Cryptography.PemEncoding.TryFind(rest.Span, out var fields))
        {
            var block = rest[fields.Location].ToString();
            var label = rest.Span[fields.Label];
            if (label is "PUBLIC KEY" or "RSA PUBLIC KEY")
                found.Add(PemPayloadVerifier.FromPem(block, path));
            rest = rest[fields.Location.End..];
        }
        return found.Count > 0 ? found : throw new System.Security.Cryptography.CryptographicException($"{path}: no PUBLIC KEY block");
    }
}
