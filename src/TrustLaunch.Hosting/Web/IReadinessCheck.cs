namespace TrustLaunch.Hosting.Web;

/// <summary>One condition <c>/readyz</c> checks (store open, TPM reachable, log reconciled, …).</summary>
public interface IReadinessCheck
{
    string Name { get; }

    /// <summary>Null when ready, else why not (shown in the 503 problem details; no secrets).</summary>
    Task<string?> CheckAsync(CancellationToken cancellationToken);
}
