using System.Text;
using TrustLaunch.Testing;

namespace TrustLaunch.Hsm.Tests;

public sealed class HsmErrorTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>
{
    [Fact]
    public void OpenSession_WrongPin_SaysWrongPin()
    {
        var e = Assert.Throws<HsmException>(() => hsm.Module.OpenSession(hsm.TokenLabel, Encoding.UTF8.GetBytes("0000-wrong")));
        Assert.Equal("C_Login", e.Function);
        Assert.Equal("CKR_PIN_INCORRECT", e.Code);
        Assert.Equal("C_Login failed: CKR_PIN_INCORRECT: wrong PIN (check TRUSTLAUNCH_HSM_PIN or the PIN file; repeated failures lock the token)", e.Message);
        using var ok = hsm.OpenSession();
    }

    [Fact]
    public void Load_MissingModule_NamesPathAndInstall()
    {
        var e = Assert.Throws<HsmException>(() => HsmModule.Load("/nonexistent/libmissing.so"));
        Assert.Equal("module failed: not found: no PKCS#11 module at /nonexistent/libmissing.so; install SoftHSM2 with `apt-get install softhsm2` or pass --module PATH (or set TRUSTLAUNCH_HSM_MODULE)", e.Message);
    }

    [Fact]
    public void OpenSession_UnknownToken_ListsTokens()
    {
        var e = Assert.Throws<HsmException>(() => hsm.Module.OpenSession("no-such-token", []));
        Assert.Equal("token not found", e.Code);
        Assert.Contains($"'{hsm.TokenLabel}'", e.Message);
    }

    [Fact]
    public void FindKey_PrivateKeyWithoutLogin_NotFoundAndSaysWhy()
    {
        using var session = hsm.Module.OpenSession(hsm.TokenLabel, []);
        var e = Assert.Throws<HsmException>(() => session.FindKey("pkcs11:object=absent;type=private"));
        Assert.Contains("logged in?", e.Message);
    }
}

/// <summary>Codes SoftHSM cannot be made to return: SoftHSM 2.6 has no retry counter and never locks a PIN (twelve
/// wrong logins in a row all give CKR_PIN_INCORRECT), so the lock message is checked at the translation layer.</summary>
public sealed class HsmExceptionTranslationTests
{
    [Fact]
    public void Translate_PinLocked_SaysWhoCanUnlock()
    {
        var e = Pkcs11Call.Translate(new Net.Pkcs11Interop.Common.Pkcs11Exception("C_Login", Net.Pkcs11Interop.Common.CKR.CKR_PIN_LOCKED));
        Assert.Equal("C_Login failed: CKR_PIN_LOCKED: the user PIN is locked after too many wrong attempts; the security officer must reset it (hsm init-pin)", e.Message);
    }

    [Fact]
    public void Translate_UncommonCode_NamesFunctionAndCode()
    {
        var e = Pkcs11Call.Translate(new Net.Pkcs11Interop.Common.Pkcs11Exception("C_DigestInit", Net.Pkcs11Interop.Common.CKR.CKR_DEVICE_MEMORY));
        Assert.Equal(("C_DigestInit", "CKR_DEVICE_MEMORY", "C_DigestInit failed: CKR_DEVICE_MEMORY"), (e.Function, e.Code, e.Message));
    }
}
