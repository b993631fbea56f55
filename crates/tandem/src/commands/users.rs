//! `tandem user` and `tandem token`.

use std::io::BufRead;
use std::process::ExitCode;

use tandem_domain::Role;

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
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (
                    tandem_service::auth::new_secret("").chars().take(20).collect(),
                    true,
                )
            };
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
                println!("{:<32} {:<10} {}", u.email, u.role, u.name);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn token(config: Config, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let TokenCommand::Create { user, name } = cmd;
    let Some((u, _)) = tandem.store.user_credentials(&user).await? else {
        eprintln!("error: nobody with e-mail {user}; add them with `tandem user add {user} --role builder`");
        return Ok(ExitCode::from(2));
    };
    let token = tandem.create_token(&u, &name).await?;
    eprintln!("API token for {} ({}); it is shown only now:", u.email, u.role);
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
