//! OAuth scopes in plain words, for the consent window and other places people read them.
//! A scope nobody taught this table is shown as it is: a wrong paraphrase would be worse
//! than the raw string.

/// What `scope` lets a program do, in one short phrase; the scope itself when unknown.
pub fn describe(scope: &str) -> String {
    match known(scope) {
        Some(words) => words.to_owned(),
        None => scope.to_owned(),
    }
}

fn known(scope: &str) -> Option<&'static str> {
    // Full-URL scopes (Google, Microsoft Graph) first, then the short names.
    let words = match scope {
        // OpenID Connect (every provider).
        "openid" => "Know who you are (your account id)",
        "email" => "See your email address",
        "profile" => "See your name and profile picture",
        "address" => "See your postal address",
        "phone" => "See your phone number",
        "offline_access" => "Stay signed in (refresh access while you are away)",

        // Google.
        "https://www.googleapis.com/auth/userinfo.email" => "See your Google email address",
        "https://www.googleapis.com/auth/userinfo.profile" => "See your Google name and picture",
        "https://www.googleapis.com/auth/gmail.readonly" => "Read your Gmail messages and settings",
        "https://www.googleapis.com/auth/gmail.send" => "Send email as you from Gmail",
        "https://www.googleapis.com/auth/gmail.modify" => {
            "Read, change and delete your Gmail messages"
        }
        "https://mail.google.com/" => "Full access to your Gmail, including deleting mail",
        "https://www.googleapis.com/auth/drive" => {
            "See, change and delete all your Google Drive files"
        }
        "https://www.googleapis.com/auth/drive.readonly" => {
            "See and download all your Google Drive files"
        }
        "https://www.googleapis.com/auth/drive.file" => {
            "See and change the Drive files this app opened or created"
        }
        "https://www.googleapis.com/auth/calendar" => "See and change your Google calendars",
        "https://www.googleapis.com/auth/calendar.readonly" => "See your Google calendars",
        "https://www.googleapis.com/auth/cloud-platform" => {
            "Full access to your Google Cloud projects"
        }
        "https://www.googleapis.com/auth/devstorage.read_only" => {
            "Read your Google Cloud Storage data"
        }

        // Microsoft (Graph; the short forms are what Entra ID also accepts).
        "User.Read" | "https://graph.microsoft.com/User.Read" => {
            "Sign you in and read your Microsoft profile"
        }
        "Mail.Read" | "https://graph.microsoft.com/Mail.Read" => "Read your Outlook mail",
        "Mail.ReadWrite" | "https://graph.microsoft.com/Mail.ReadWrite" => {
            "Read and change your Outlook mail"
        }
        "Mail.Send" | "https://graph.microsoft.com/Mail.Send" => "Send mail as you from Outlook",
        "Calendars.Read" | "https://graph.microsoft.com/Calendars.Read" => {
            "Read your Outlook calendars"
        }
        "Calendars.ReadWrite" | "https://graph.microsoft.com/Calendars.ReadWrite" => {
            "Read and change your Outlook calendars"
        }
        "Files.Read" | "https://graph.microsoft.com/Files.Read" => "Read your OneDrive files",
        "Files.ReadWrite" | "https://graph.microsoft.com/Files.ReadWrite" => {
            "Read and change your OneDrive files"
        }
        "Files.ReadWrite.All" | "https://graph.microsoft.com/Files.ReadWrite.All" => {
            "Read and change all files you can reach in OneDrive and SharePoint"
        }
        "https://management.azure.com/user_impersonation" => "Manage Azure resources as you",
        "https://graph.microsoft.com/.default" => {
            "Everything this app was registered for in Microsoft Graph"
        }

        // GitHub.
        "repo" => "Full access to your GitHub repositories, private ones included",
        "public_repo" => "Change your public GitHub repositories",
        "repo:status" => "Read and set commit statuses on your GitHub repositories",
        "read:user" => "Read your GitHub profile",
        "user:email" => "See your GitHub email addresses",
        "user" => "Read and change your GitHub profile",
        "read:org" => "See your GitHub organizations and teams",
        "admin:org" => "Fully manage your GitHub organizations",
        "gist" => "Create and change your gists",
        "notifications" => "Read your GitHub notifications",
        "workflow" => "Change your GitHub Actions workflows",
        "write:packages" => "Publish packages to GitHub Packages",
        "read:packages" => "Download packages from GitHub Packages",
        "delete_repo" => "Delete your GitHub repositories",
        "admin:public_key" => "Manage your SSH keys on GitHub",

        // GitLab.
        "api" => "Full access to the GitLab API as you (repositories, issues, settings)",
        "read_api" => "Read everything the GitLab API shows you",
        "read_user" => "Read your GitLab profile",
        "read_repository" => "Read (clone) your GitLab repositories",
        "write_repository" => "Read and push to your GitLab repositories",
        "read_registry" => "Pull from your GitLab container registries",
        "write_registry" => "Push to your GitLab container registries",
        "sudo" => "Act as any user on the GitLab instance (admin only)",
        _ => return None,
    };
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scopes_read_as_words_and_unknown_ones_stay_raw() {
        assert_eq!(describe("email"), "See your email address");
        assert_eq!(describe("User.Read"), describe("https://graph.microsoft.com/User.Read"));
        assert!(describe("repo").contains("private"));
        assert_eq!(describe("api:read"), "api:read");
        assert_eq!(describe(""), "");
    }
}
