using System.Data.Common;

namespace TrustLaunch.Hosting.Storage;

/// <summary>The store could not be reached (connection refused, authentication failed, no such database).</summary>
public sealed class StoreUnavailableException(string message, Exception innerException) : DbException(message, innerException);
