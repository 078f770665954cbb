# bash completion for ringstamp — commands and flags read from ringstamp's own --help, so
# they are always those of the installed binary. Installed as
# /usr/share/bash-completion/completions/ringstamp; or: source scripts/completion/ringstamp.bash
_ringstamp() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion || return
  else
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
  local bin=${words[0]}
  # The command: one word, or "probe server|client".
  local cmd=() i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      -*) break ;;
      *) cmd+=("${words[i]}") ;;
    esac
  done
  if [ ${#cmd[@]} -eq 0 ]; then
    local commands
    commands=$("$bin" --help 2>/dev/null | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}' | sort -u)
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  if [ "${cmd[0]}" = probe ] && [ ${#cmd[@]} -eq 1 ]; then
    COMPREPLY=($(compgen -W "server client" -- "$cur"))
    return
  fi
  case $prev in
    -i) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
    -w | --plot) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -Z) COMPREPLY=($(compgen -u -- "$cur")); return ;;
    --tstamp) COMPREPLY=($(compgen -W "auto hardware software" -- "$cur")); return ;;
    --mode) COMPREPLY=($(compgen -W "stamp icmp" -- "$cur")); return ;;
  esac
  local flags
  flags=$("$bin" "${cmd[@]}" --help 2>/dev/null | grep -oE '^  (-[A-Za-z]|--[a-z0-9-]+)' | tr -d ' ')
  COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
}
complete -F _ringstamp ringstamp
