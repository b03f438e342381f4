namespace TrustLaunch.Hsm.Tests;

public sealed class Pkcs11UriTests
{
    [Fact]
    public void Parse_FullUri_ReadsEveryAttribute()
    {
        var uri = Pkcs11Uri.Parse("pkcs11:token=tl;object=golden%20signer;type=private;id=%01%ff?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin");
        Assert.Equal("tl", uri.Token);
        Assert.Equal("golden signer", uri.Object);
        Assert.Equal(HsmObjectType.Private, uri.Type);
        Assert.Equal(new byte[] { 1, 0xff }, uri.Id);
        Assert.Equal("/usr/lib/softhsm/libsofthsm2.so", uri.ModulePath);
        Assert.Equal("file:/run/pin", uri.PinSource);
        Assert.Equal(uri, Pkcs11Uri.Parse(uri.ToString()) with { Id = uri.Id });
        Assert.Equal("pkcs11:token=tl;object=golden%20signer;id=%01%ff;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin", uri.ToString());
    }

    [Theory]
    [InlineData("token=tl", "'token=tl' is not a PKCS#11 URI: it must start with 'pkcs11:'")]
    [InlineData("pkcs11:token=a;token=b", "PKCS#11 URI 'pkcs11:token=a;token=b': attribute 'token' appears twice")]
    [InlineData("pkcs11:color=red", "PKCS#11 URI 'pkcs11:color=red': unknown path attribute 'color' (known: token, object, type, id, manufacturer, model, serial)")]
    [InlineData("pkcs11:type=secret", "PKCS#11 URI 'pkcs11:type=secret': type 'secret' is not one of public, private, secret-key, cert, data")]
    [InlineData("pkcs11:object=a%2", "PKCS#11 URI 'pkcs11:object=a%2': attribute 'object' has a bad percent-escape at '%2'")]
    [InlineData("pkcs11:object", "PKCS#11 URI 'pkcs11:object': 'object' is not name=value")]
    [InlineData("pkcs11:object=a b", "PKCS#11 URI 'pkcs11:object=a b': attribute 'object' contains ' ', which must be percent-encoded")]
    [InlineData("pkcs11:object=k?pin-value=1234", "PKCS#11 URI 'pkcs11:object=k?pin-value=REDACTED': pin-value is refused (a PIN in a URI ends up in logs and shell history); use pin-source or TRUSTLAUNCH_HSM_PIN")]
    [InlineData("pkcs11:pin-value=1234;object=k", "PKCS#11 URI 'pkcs11:pin-value=REDACTED;object=k': unknown path attribute 'pin-value' (known: token, object, type, id, manufacturer, model, serial)")]
    [InlineData("pkcs11:object=k?pin-source=/run/pin%zz", "PKCS#11 URI 'pkcs11:object=k?pin-source=REDACTED': attribute 'pin-source' has a bad percent-escape")]
    [InlineData("pkcs11:object=k ?pin%2Dvalue=1234", "PKCS#11 URI 'pkcs11:object=k ?pin%2Dvalue=REDACTED': attribute 'object' contains ' ', which must be percent-encoded")]
    public void Parse_Malformed_SaysWhatIsWrong(string text, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => Pkcs11Uri.Parse(text)).Message);

    [Fact]
    public void EcdsaSignatureFormats_RoundTripWithLeadingZeros()
    {
        var p1363 = new byte[64];
        p1363[31] = 5;
        p1363[32] = 0x80;
        var der = EcdsaSignatureFormats.P1363ToDer(p1363);
        Assert.Equal("3026020105022100" + "80", Convert.ToHexStringLower(der)[..18]);
        Assert.Equal(p1363, EcdsaSignatureFormats.DerToP1363(der, 32));
        Assert.Throws<FormatException>(() => EcdsaSignatureFormats.DerToP1363([0x30, 0x01], 32));
    }

    [Theory]
    [InlineData("pkcs11:token=tl;object=k?pin-value=123456&module-path=/m.so", "pkcs11:token=tl;object=k?pin-value=REDACTED&module-path=/m.so")]
    [InlineData("PKCS11:PIN-VALUE=9;object=k", "PKCS11:PIN-VALUE=REDACTED;object=k")]
    [InlineData("pkcs11:object=k?pin-source=file:/run/secret-pin", "pkcs11:object=k?pin-source=REDACTED")]
    [InlineData("pkcs11:object=k;pin-value", "pkcs11:object=k;pin-value")]
    [InlineData("not a uri pin-value=1", "not a uri pin-value=REDACTED")]
    public void Redact_PinValueAndPinSource_ValuesReplaced(string text, string redacted) =>
        Assert.Equal(redacted, Pkcs11Uri.Redact(text));

    [Fact]
    public void ToDisplayString_PinSource_Redacted()
    {
        var uri = Pkcs11Uri.Parse("pkcs11:token=tl;object=k?pin-source=file:/run/secret-pin");
        Assert.Equal("pkcs11:token=tl;object=k?pin-source=REDACTED", uri.ToDisplayString());
        Assert.Equal("pkcs11:token=tl;object=k?pin-source=file:/run/secret-pin", uri.ToString());
    }
}
