namespace TrustLaunch.Hsm;

/// <summary>
/// The one error the HSM layer raises: the PKCS#11 function that failed (or <c>module</c> when it could not be
/// loaded), the CKR code name, and a sentence saying what it means and what to do for the common codes.
/// </summary>
public sealed class HsmException : Exception
{
    public HsmException(string function, string code, string? detail = null, Exception? inner = null)
        : base(Compose(function, code, detail), inner)
    {
        Function = function;
        Code = code;
    }

    /// <summary>The PKCS#11 function, e.g. <c>C_Login</c>.</summary>
    public string Function { get; }

    /// <summary>The CKR name, e.g. <c>CKR_PIN_INCORRECT</c>.</summary>
    public string Code { get; }

    private static string Compose(string function, string code, string? detail)
    {
        var explanation = detail ?? Explain(code);
        return explanation is null ? $"{function} failed: {code}" : $"{function} failed: {code}: {explanation}";
    }

    /// <summary>What a code means to an operator; null when the code speaks for itself.</summary>
    public static string? Explain(string code) => code switch
    {
        "CKR_PIN_INCORRECT" => "wrong PIN (check TRUSTLAUNCH_HSM_PIN or the PIN file; repeated failures lock the token)",
        "CKR_PIN_LOCKED" => "the user PIN is locked after too many wrong attempts; the security officer must reset it (hsm init-pin)",
        "CKR_PIN_LEN_RANGE" => "the PIN has the wrong length for this token (SoftHSM: 4 to 255 bytes)",
        "CKR_USER_PIN_NOT_INITIALIZED" => "the token has no user PIN yet; set one with hsm init-pin",
        "CKR_USER_NOT_LOGGED_IN" => "this operation needs a login; give a PIN",
        "CKR_KEY_TYPE_INCONSISTENT" => "the key's type does not fit this mechanism (e.g. an EC key for an RSA mechanism)",
        "CKR_KEY_FUNCTION_NOT_PERMITTED" => "the key's attributes forbid this use (CKA_SIGN/CKA_ENCRYPT/CKA_WRAP…)",
        "CKR_KEY_UNEXTRACTABLE" => "the key is non-extractable (CKA_EXTRACTABLE false) and cannot leave the HSM",
        "CKR_ATTRIBUTE_SENSITIVE" => "the attribute is sensitive (CKA_SENSITIVE true) and cannot be read",
        "CKR_MECHANISM_INVALID" => "the token does not support this mechanism (see hsm mechanisms)",
        "CKR_MECHANISM_PARAM_INVALID" => "the token rejects these mechanism parameters",
        "CKR_SIGNATURE_INVALID" => "the signature does not verify",
        "CKR_TOKEN_NOT_PRESENT" => "no token in the slot",
        "CKR_CRYPTOKI_ALREADY_INITIALIZED" => "the module was already initialised in this process",
        _ => null,
    };
}
