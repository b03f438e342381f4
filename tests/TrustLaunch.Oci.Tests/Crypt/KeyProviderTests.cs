using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Tests.Crypt;

public sealed class KeyProviderTests
{
    private const string Kid = "kbs:///default/image-key/app";
    private static readonly byte[] Kek = RandomNumberGenerator.GetBytes(32);

    private static KekTable Broker(byte[]? kek = null) => new(new() { [Kid] = kek ?? Kek });

    private static async Task<(OciDescriptor Encrypted, byte[] Ciphertext, byte[] Plain)> EncryptSample(IReadOnlyList<EncryptionRecipient> jwe, string kid = Kid)
    {
        var plain = RandomNumberGenerator.GetBytes(50_000);
        var plainDesc = new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Sha256(plain), Size = plain.Length };
        using var output = new MemoryStream();
        using var provider = new ProviderRecipient(kid, Kek);
        var encrypted = await Ocicrypt.EncryptAsync(plainDesc, new MemoryStream(plain), output, jwe, [provider]);
        return (encrypted, output.ToArray(), plain);
    }

    private static JsonObject Packet(OciDescriptor layer) =>
        JsonNode.Parse(Convert.FromBase64String(layer.Annotations![KeyProviderPacket.Annotation]))!.AsObject();

    private static OciDescriptor WithPacket(OciDescriptor layer, string annotationValue) =>
        layer with { Annotations = new Dictionary<string, string>(layer.Annotations!) { [KeyProviderPacket.Annotation] = annotationValue } };

    private static OciDescriptor WithPacket(OciDescriptor layer, JsonObject packet) =>
        WithPacket(layer, Convert.ToBase64String(Encoding.UTF8.GetBytes(packet.ToJsonString())));

    private static async Task<string> RefusalOf(OciDescriptor layer, IKeyEncryptionKeySource provider, IReadOnlyList<DecryptionKey>? keys = null) =>
        (await Assert.ThrowsAsync<CryptographicException>(() => Ocicrypt.DecryptAsync(layer, new MemoryStream(), keys ?? [], provider))).Message;

    [Fact]
    public async Task EncryptAsync_ProviderRecipient_WritesCocoPacketThatDecrypts()
    {
        var (encrypted, ciphertext, plain) = await EncryptSample([]);
        Assert.False(encrypted.Annotations!.ContainsKey(Ocicrypt.KeysJweAnnotation));
        var packet = Packet(encrypted);
        Assert.Equal(["kid", "wrapped_data", "iv", "wrap_type"], packet.Select(p => p.Key));
        Assert.Equal(Kid, (string?)packet["kid"]);
        Assert.Equal("A256GCM", (string?)packet["wrap_type"]);
        Assert.Equal(12, Convert.FromBase64String((string)packet["iv"]!).Length);

        var broker = Broker();
        await using var stream = await Ocicrypt.DecryptAsync(encrypted, new MemoryStream(ciphertext), [], broker);
        using var result = new MemoryStream();
        await stream.CopyToAsync(result);
        Assert.Equal(plain, result.ToArray());
        Assert.True(stream.IsVerified);
        Assert.Equal([Kid], broker.Asked);
        Assert.Equal(Digest.Sha256(plain), (await Ocicrypt.DecryptedDescriptorAsync(encrypted, [], broker)).Digest);
    }

    [Fact]
    public async Task EncryptAsync_JweAndProvider_EitherPathDecrypts()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (encrypted, ciphertext, plain) = await EncryptSample([EncryptionRecipient.FromPem(ec.ExportSubjectPublicKeyInfoPem())]);
        using var key = DecryptionKey.FromPem(ec.ExportECPrivateKeyPem(), "key.pem");

        using (var jwe = Ocicrypt.Decrypt(encrypted, new MemoryStream(ciphertext), [key]))
        using (var result = new MemoryStream())
        {
            await jwe.CopyToAsync(result);
            Assert.Equal(plain, result.ToArray());
        }
        // The provider refuses (wrong key), the JWE recipient still opens the layer.
        await using var fallback = await Ocicrypt.DecryptAsync(encrypted, new MemoryStream(ciphertext), [key], Broker(RandomNumberGenerator.GetBytes(32)));
        using var fallbackResult = new MemoryStream();
        await fallback.CopyToAsync(fallbackResult);
        Assert.Equal(plain, fallbackResult.ToArray());
    }

    [Fact]
    public async Task Decrypt_ProviderOnlyLayerWithJweKeys_SaysItNeedsTheBroker()
    {
        var (encrypted, ciphertext, _) = await EncryptSample([]);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var key = DecryptionKey.FromPem(ec.ExportECPrivateKeyPem(), "key.pem");
        var e = Assert.Throws<CryptographicException>(() => Ocicrypt.Decrypt(encrypted, new MemoryStream(ciphertext), [key]));
        Assert.Equal($"layer {encrypted.Digest}: its key is wrapped only for key provider trustlaunch: it is unwrapped through the key broker", e.Message);
    }

    [Fact]
    public async Task DecryptAsync_WrongKek_RefusedByTheGcmTag()
    {
        var (encrypted, _, _) = await EncryptSample([]);
        Assert.Equal($"layer {encrypted.Digest}: key provider trustlaunch: the annotation packet for {Kid} does not open under its key-encryption key (forged, or the wrong key)",
            await RefusalOf(encrypted, Broker(RandomNumberGenerator.GetBytes(32))));
    }

    [Fact]
    public async Task DecryptAsync_ForgedWrappedData_Refused()
    {
        var (encrypted, _, _) = await EncryptSample([]);
        var packet = Packet(encrypted);
        var wrapped = Convert.FromBase64String((string)packet["wrapped_data"]!);
        wrapped[3] ^= 0x01;
        packet["wrapped_data"] = Convert.ToBase64String(wrapped);
        Assert.Equal($"layer {encrypted.Digest}: key provider trustlaunch: the annotation packet for {Kid} does not open under its key-encryption key (forged, or the wrong key)",
            await RefusalOf(WithPacket(encrypted, packet), Broker()));
    }

    [Fact]
    public async Task DecryptAsync_PacketSealedUnderAnotherKekWithTheSameKid_Refused()
    {
        var (encrypted, _, _) = await EncryptSample([]);
        var forged = Packet(encrypted);
        var attacker = JsonNode.Parse(KeyProviderPacket.Wrap("{\"symkey\":\"AAAA\"}"u8, RandomNumberGenerator.GetBytes(32), Kid))!.AsObject();
        forged["wrapped_data"] = (string?)attacker["wrapped_data"];
        forged["iv"] = (string?)attacker["iv"];
        Assert.Equal($"layer {encrypted.Digest}: key provider trustlaunch: the annotation packet for {Kid} does not open under its key-encryption key (forged, or the wrong key)",
            await RefusalOf(WithPacket(encrypted, forged), Broker()));
    }

    [Theory]
    [InlineData("not base64!", "annotation packet is malformed: not base64")]
    [InlineData("bm90IGpzb24=", "annotation packet is malformed: not JSON")]
    [InlineData("WzFd", "annotation packet is malformed: not a JSON object")]
    public async Task DecryptAsync_GarbledPacket_Refused(string annotation, string reason)
    {
        var (encrypted, _, _) = await EncryptSample([]);
        Assert.Equal($"layer {encrypted.Digest}: key provider trustlaunch: {reason}", await RefusalOf(WithPacket(encrypted, annotation), Broker()));
    }

    [Theory]
    [InlineData("wrap_type", "A128GCM", "annotation packet wrap_type 'A128GCM' is not A256GCM")]
    [InlineData("wrap_type", null, "annotation packet is malformed: wrap_type is missing")]
    [InlineData("iv", "AAAA", "annotation packet iv is 3 bytes, expected 12")]
    [InlineData("iv", "*", "annotation packet is malformed: iv is not base64")]
    [InlineData("wrapped_data", "AAAA", "annotation packet wrapped_data is 3 bytes, too short for data and a 16-byte tag")]
    [InlineData("kid", "https://evil.example/key", "annotation packet kid 'https://evil.example/key' is not a kbs:// resource URI")]
    [InlineData("kid", null, "annotation packet is malformed: kid is missing")]
    public async Task DecryptAsync_BadPacketField_Refused(string field, string? value, string reason)
    {
        var (encrypted, _, _) = await EncryptSample([]);
        var packet = Packet(encrypted);
        if (value is null)
            packet.Remove(field);
        else
            packet[field] = value;
        var broker = Broker();
        Assert.Equal($"layer {encrypted.Digest}: key provider trustlaunch: {reason}", await RefusalOf(WithPacket(encrypted, packet), broker));
        Assert.Empty(broker.Asked);
    }

    [Fact]
    public async Task DecryptAsync_UnknownKid_RefusedWithTheSourcesReason()
    {
        var (encrypted, _, _) = await EncryptSample([], "kbs:///default/image-key/other");
        Assert.Equal($"layer {encrypted.Digest}: no key-encryption key kbs:///default/image-key/other", await RefusalOf(encrypted, Broker()));
    }

    [Fact]
    public async Task DecryptAsync_KekOfWrongLength_Refused()
    {
        var (encrypted, _, _) = await EncryptSample([]);
        Assert.Equal($"layer {encrypted.Digest}: key provider trustlaunch: the key-encryption key {Kid} is 16 bytes, expected 32",
            await RefusalOf(encrypted, Broker(RandomNumberGenerator.GetBytes(16))));
    }

    [Fact]
    public async Task DecryptAsync_PacketTooLarge_RefusedBeforeParsing()
    {
        var (encrypted, _, _) = await EncryptSample([]);
        var packet = Packet(encrypted);
        packet["padding"] = new string('x', KeyProviderPacket.MaxPacketLength);
        var broker = Broker();
        Assert.Equal($"layer {encrypted.Digest}: key provider trustlaunch: annotation packet is more than 16384 bytes", await RefusalOf(WithPacket(encrypted, packet), broker));
        Assert.Empty(broker.Asked);
        var e = Assert.Throws<CryptographicException>(() => KeyProviderPacket.Parse(new byte[KeyProviderPacket.MaxPacketLength + 1]));
        Assert.Equal("key provider trustlaunch: annotation packet is 16385 bytes, more than 16384", e.Message);
    }

    [Fact]
    public async Task DecryptAsync_AnnotationOverOneMebibyte_Refused()
    {
        var (encrypted, _, _) = await EncryptSample([]);
        var huge = WithPacket(encrypted, string.Join(',', Enumerable.Repeat(encrypted.Annotations![KeyProviderPacket.Annotation], (1 << 20) / 200)));
        Assert.Equal($"layer {huge.Digest}: encryption annotations are larger than 1048576 bytes", await RefusalOf(huge, Broker()));
    }

    [Fact]
    public void ProviderRecipient_BadKidOrKek_Refused()
    {
        var kid = Assert.Throws<CryptographicException>(() => new ProviderRecipient("default/image-key/app", Kek));
        Assert.Equal("key provider trustlaunch: annotation packet kid 'default/image-key/app' is not a kbs:// resource URI", kid.Message);
        var kek = Assert.Throws<CryptographicException>(() => new ProviderRecipient(Kid, new byte[31]));
        Assert.Equal($"key provider trustlaunch: the key-encryption key {Kid} is 31 bytes, expected 32", kek.Message);
    }
}
