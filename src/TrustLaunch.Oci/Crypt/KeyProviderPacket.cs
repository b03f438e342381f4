using System.Security.Cryptography;
using System.Text.Json;

namespace TrustLaunch.Oci.Crypt;

/// <summary>
/// The annotation packet of the <c>trustlaunch</c> ocicrypt key provider, in Confidential Containers' form:
/// <c>{"kid":"kbs:///…","wrapped_data":b64,"iv":b64,"wrap_type":"A256GCM"}</c>. <c>wrapped_data</c> is AES-256-GCM
/// (16-byte tag appended) of the layer's private options under the 32-byte key-encryption key named by <c>kid</c>, a
/// resource of the key broker; <c>iv</c> is 12 random bytes. Every refusal is a <see cref="CryptographicException"/>
/// whose message starts with <see cref="RefusalPrefix"/>.
/// </summary>
public sealed class KeyProviderPacket
{
    public const string ProviderName = "trustlaunch";
    public const string Annotation = "org.opencontainers.image.enc.keys.provider." + ProviderName;
    public const string WrapType = "A256GCM";
    public const string RefusalPrefix = "key provider " + ProviderName + ": ";
    public const int KekLength = 32;
    public const int MaxPacketLength = 16 * 1024;
    private const int MaxKidLength = 1024;
    private const int IvLength = 12;
    private const int TagLength = 16;

    private readonly byte[] wrappedData;
    private readonly byte[] iv;

    private KeyProviderPacket(string kid, byte[] wrappedData, byte[] iv)
    {
        Kid = kid;
        this.wrappedData = wrappedData;
        this.iv = iv;
    }

    /// <summary>The key broker resource URI of the key-encryption key (<c>kbs://…</c>).</summary>
    public string Kid { get; }

    /// <summary>Wraps <paramref name="optsdata"/> under <paramref name="kek"/> with a fresh random iv; the packet's JSON bytes.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> optsdata, ReadOnlySpan<byte> kek, string kid)
    {
        CheckKid(kid);
        CheckKek(kek, kid);
        var iv = RandomNumberGenerator.GetBytes(IvLength);
        var sealedData = new byte[optsdata.Length + TagLength];
        using (var gcm = new AesGcm(kek, TagLength))
            gcm.Encrypt(iv, optsdata, sealedData.AsSpan(0, optsdata.Length), sealedData.AsSpan(optsdata.Length));
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("kid", kid);
            json.WriteBase64String("wrapped_data", sealedData);
            json.WriteBase64String("iv", iv);
            json.WriteString("wrap_type", WrapType);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Parses a packet's JSON bytes; nothing is decrypted yet (see <see cref="Open"/>).</summary>
    public static KeyProviderPacket Parse(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacketLength)
            throw Refused($"annotation packet is {packet.Length} bytes, more than {MaxPacketLength}");
        string? kid, wrapType;
        byte[] wrapped, iv;
        try
        {
            var reader = new Utf8JsonReader(packet);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Refused("annotation packet is malformed: not a JSON object");
            kid = StringField(root, "kid");
            wrapType = StringField(root, "wrap_type");
            wrapped = Base64Field(root, "wrapped_data");
            iv = Base64Field(root, "iv");
        }
        catch (JsonException)
        {
            throw Refused("annotation packet is malformed: not JSON");
        }
        if (wrapType != WrapType)
            throw Refused($"annotation packet wrap_type '{Printable(wrapType)}' is not {WrapType}");
        CheckKid(kid);
        if (iv.Length != IvLength)
            throw Refused($"annotation packet iv is {iv.Length} bytes, expected {IvLength}");
        if (wrapped.Length <= TagLength)
            throw Refused($"annotation packet wrapped_data is {wrapped.Length} bytes, too short for data and a {TagLength}-byte tag");
        return new KeyProviderPacket(kid, wrapped, iv);
    }

    /// <summary>The private options, decrypted and authenticated under <paramref name="kek"/>. The caller wipes them.</summary>
    public byte[] Open(ReadOnlySpan<byte> kek)
    {
        CheckKek(kek, Kid);
        var length = wrappedData.Length - TagLength;
        var plain = new byte[length];
        try
        {
            using var gcm = new AesGcm(kek, TagLength);
            gcm.Decrypt(iv, wrappedData.AsSpan(0, length), wrappedData.AsSpan(length), plain);
            return plain;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plain);
            throw Refused($"the annotation packet for {Kid} does not open under its key-encryption key (forged, or the wrong key)");
        }
    }

    /// <summary>
    /// Parses <paramref name="packet"/>, gets its kid's key-encryption key from <paramref name="fetchKek"/> (the key
    /// broker, so only an attested node does) and opens the packet under it; the key is wiped here, the private options
    /// returned are the caller's to wipe.
    /// </summary>
    public static async Task<byte[]> OpenAsync(byte[] packet, Func<string, CancellationToken, Task<byte[]>> fetchKek, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fetchKek);
        var parsed = Parse(packet);
        var kek = await fetchKek(parsed.Kid, cancellationToken).ConfigureAwait(false);
        try
        {
            return parsed.Open(kek);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    private static string? StringField(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
            throw Refused($"annotation packet is malformed: {name} is missing");
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Refused($"annotation packet is malformed: {name} is not a string");
    }

    private static byte[] Base64Field(JsonElement root, string name)
    {
        StringField(root, name);
        return root.GetProperty(name).TryGetBytesFromBase64(out var bytes) ? bytes : throw Refused($"annotation packet is malformed: {name} is not base64");
    }

    private static void CheckKid([System.Diagnostics.CodeAnalysis.NotNull] string? kid)
    {
        if (kid is null || kid.Length > MaxKidLength || !kid.StartsWith("kbs://", StringComparison.Ordinal) || kid.Any(char.IsControl))
            throw Refused($"annotation packet kid '{Printable(kid)}' is not a kbs:// resource URI");
    }

    private static void CheckKek(ReadOnlySpan<byte> kek, string kid)
    {
        if (kek.Length != KekLength)
            throw Refused($"the key-encryption key {kid} is {kek.Length} bytes, expected {KekLength}");
    }

    /// <summary>Packet text goes into messages only bounded and without control characters.</summary>
    private static string Printable(string? text) =>
        text is null ? "" : text.Length > 64 || text.Any(char.IsControl) ? $"{string.Concat(text.Take(64).Where(c => !char.IsControl(c)))}…" : text;

    private static CryptographicException Refused(string reason) => new(RefusalPrefix + reason);
}
