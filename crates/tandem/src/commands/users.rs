//! `tandem user` and `tandem token`.

use std::io::BufRead;
use std::process::ExitCode;

use tandem_domain::Role;
use tandem_service::accounts::{AccountChange, parse_lifetime, token_status};
use tandem_service::measure::date_label;
use tandem_service::{ServiceError, Tandem};
use tandem_store::Workspace;

use crate::cli::{TokenCommand, UserCommand};
use crate::config::Config;

pub async fn user(config: Config, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let ws = tandem
        .ensure_workspace(&config.workspace, &config.workspace)
        .await?;
    match cmd {
        UserCommand::Add {
            email,
            role,
            name,
            password_stdin,
        } => {
            let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let (password, generated) = read_password(password_stdin)?;
            match tandem.add_user(ws.id, &email, &name, role, &password).await {
                Ok(u) => {
                    println!("added {} ({}) to workspace {}", u.email, u.role, ws.slug);
                    if generated {
                        println!("password: {password}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    super::report(&e);
                    Ok(ExitCode::from(2))
                }
            }
        }
        UserCommand::List => {
            for u in tandem.store.list_users(ws.id).await? {
                let state = if u.disabled_at.is_some() { "disabled" } else { "" };
                println!("{:<32} {:<10} {:<9} {}", u.email, u.role, state, u.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Disable { email } => change(&tandem, &ws, &email, AccountChange::Disable).await,
        UserCommand::Enable { email } => change(&tandem, &ws, &email, AccountChange::Enable).await,
        UserCommand::Remove { email } => change(&tandem, &ws, &email, AccountChange::Remove).await,
        UserCommand::Role { email, role } => match role.parse::<Role>() {
            Ok(role) => change(&tandem, &ws, &email, AccountChange::Role(role)).await,
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(2))
            }
        },
        UserCommand::Password {
            email,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let code = change(&tandem, &ws, &email, AccountChange::Password(password.clone())).await?;
            if generated && code == ExitCode::SUCCESS {
                println!("password: {password}");
            }
            Ok(code)
        }
    }
}

/// The first line of standard input, or a generated password (`true`: print it).
fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
    } else {
        Ok((
            tandem_service::auth::new_secret("").chars().take(20).collect(),
            true,
        ))
    }
}

async fn change(
    tandem: &Tandem,
    ws: &Workspace,
    email: &str,
    what: AccountChange,
) -> anyhow::Result<ExitCode> {
    let done = what.done();
    let r = match tandem.member(ws.id, email).await {
        Ok(u) => tandem.change_account(ws.id, u.id, what).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(u) => {
            println!("{} ({}) {done}", email.trim(), u.role);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            super::report(&e);
            Ok(ExitCode::from(2))
        }
    }
}

pub async fn token(config: Config, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let ws = tandem
        .ensure_workspace(&config.workspace, &config.workspace)
        .await?;
    let fail = |e: &ServiceError| {
        super::report(e);
        Ok(ExitCode::from(2))
    };
    match cmd {
        TokenCommand::Create {
            user,
            name,
            expires_in,
        } => {
            let lifetime = match parse_lifetime(&expires_in) {
                Ok(l) => l,
                Err(e) => return fail(&e),
            };
            let Some(u) = tandem.store.user_by_email(ws.id, &user).await? else {
                eprintln!(
                    "error: nobody with e-mail {user} in workspace {}; add them with `tandem user add {user} --role builder`",
                    ws.slug
                );
                return Ok(ExitCode::from(2));
            };
            let (token, row) = match tandem.create_token_expiring(&u, &name, lifetime).await {
                Ok(t) => t,
                Err(e) => return fail(&e),
            };
            let expiry = row.expires_at.map_or("never expires".to_owned(), |t| {
                format!("expires {}", date_label(t))
            });
            eprintln!(
                "API token {} for {} ({}), {expiry}; it is shown only now:",
                row.id, u.email, u.role
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List => {
            let now = tandem.now();
            println!(
                "{:>5}  {:<32} {:<16} {:<10} {:<10} {:<10} state",
                "id", "person", "name", "created", "last used", "expires"
            );
            for t in tandem.store.list_api_tokens(ws.id).await? {
                let day = |t: Option<i64>, none: &str| t.map_or(none.to_owned(), date_label);
                println!(
                    "{:>5}  {:<32} {:<16} {:<10} {:<10} {:<10} {}",
                    t.id,
                    t.user_email,
                    t.name,
                    date_label(t.created_at),
                    day(t.last_used_at, "-"),
                    day(t.expires_at, "never"),
                    token_status(&t, now)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id } => match tandem.store.revoke_api_token(ws.id, id, tandem.now()).await {
            Ok(t) => {
                println!("revoked token {} ({}, {})", t.id, t.name, t.user_email);
                Ok(ExitCode::SUCCESS)
            }
            Err(tandem_store::StoreError::NotFound(_)) => {
                eprintln!(
                    "error: no token {id} in workspace {}; `tandem token list` shows them",
                    ws.slug
                );
                Ok(ExitCode::from(2))
            }
            Err(e) => Err(e.into()),
        },
    }
}
