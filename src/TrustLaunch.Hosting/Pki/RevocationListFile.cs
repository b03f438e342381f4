using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>
/// The CRL file (<c>crl.pem</c>) a service checks every TLS peer against. Each check stats the file and reloads it
/// when its size or modification time changed, so <c>trustlaunch ca revoke</c> takes effect on the next handshake
/// without a restart. Fails closed: a missing, unreadable, badly signed or expired CRL, or one older (lower CRL
/// number) than one already accepted, refuses every peer with that reason until a good one is in place.
/// </summary>
public sealed class RevocationListFile
{
    public const string FileName = "crl.pem";

    private readonly CaBundle _trust;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private (DateTime Modified, long Length)? _stamp;
    private RevocationList? _current;
    private BigInteger _highestNumber = BigInteger.MinusOne;
    private string? _error;

    /// <summary>Loads <paramref name="path"/> now; throws when it cannot be used (a service must not start without it).</summary>
    public RevocationListFile(string path, CaBundle trust, TimeProvider? time = null)
    {
        Path = path;
        _trust = trust;
        _time = time ?? TimeProvider.System;
        if (Refresh() is { } error)
            throw new CryptographicException(error);
    }

    public string Path { get; }

    /// <summary>Null when <paramref name="certificate"/> (already chain-checked) is not revoked, else why it is refused.</summary>
    public string? Check(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        RevocationList current;
        lock (_lock)
        {
            if (Refresh() is { } error)
                return error;
            current = _current!;
        }
        if (!certificate.IssuerName.RawData.AsSpan().SequenceEqual(current.Issuer.RawData))
            return $"certificate '{certificate.Subject}': no revocation list for its issuer '{certificate.Issuer}' ({Path} is for '{current.Issuer.Name}')";
        return current.IsRevoked(certificate)
            ? $"certificate '{certificate.Subject}' (serial {certificate.SerialNumber}) is revoked ({Path})"
            : null;
    }

    /// <summary>Reloads when the file changed; returns the reason every peer is refused, or null. Caller holds the lock (or constructs).</summary>
    private string? Refresh()
    {
        var info = new FileInfo(Path);
        if (!info.Exists)
        {
            _stamp = null;
            return _error = $"revocation list {Path} is missing (trustlaunch ca init writes it; copy it next to ca.crt)";
        }
        var stamp = (info.LastWriteTimeUtc, info.Length);
        if (_stamp != stamp)
        {
            _stamp = stamp;
            _error = Load();
        }
        if (_error is null && _current!.NextUpdate is { } next && next < _time.GetUtcNow())
            return $"revocation list {Path} expired at {next:yyyy-MM-ddTHH:mm:ssZ}";
        return _error;
    }

    private string? Load()
    {
        RevocationList list;
        try
        {
            var pem = File.ReadAllText(Path);
            var fields = PemEncoding.Find(pem);
            if (!pem.AsSpan(fields.Label).SequenceEqual("X509 CRL"))
                return $"revocation list {Path}: expected a PEM 'X509 CRL', found '{pem[fields.Label]}'";
            list = RevocationList.Decode(Convert.FromBase64String(pem[fields.Base64Data]), _trust);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or FormatException)
        {
            return $"revocation list {Path} unusable: {e.Message}";
        }
        if (list.Number < _highestNumber)
            return $"revocation list {Path} is older (CRL number {list.Number}) than one already accepted ({_highestNumber}): refusing a rollback";
        _highestNumber = list.Number;
        _current = list;
        return null;
    }
}
