/* The hardware the reference device needs, and nothing more. Implement these for your board:
 * a UART, a millisecond clock, one-time-programmable (OTP) storage for the secret, and a small
 * rewritable area for the configuration. host/hal_posix.c implements them on a POSIX PTY. */
#ifndef IMPRINT_HAL_H
#define IMPRINT_HAL_H

#include <stddef.h>
#include <stdint.h>

/* Bytes received since the last call, at most n; 0 when none. Never blocks. Keep an interrupt or
 * DMA ring buffer behind it, so bytes that arrive while the device programs OTP are not lost. */
size_t hal_uart_read(uint8_t *buf, size_t n);
/* Send n bytes; may block until they are queued. */
void hal_uart_write(const uint8_t *buf, size_t n);
/* Milliseconds from any origin, wrapping at 2^32. */
uint32_t hal_millis(void);

/* OTP: erased bytes read 0xFF; each byte can be programmed once. 0 on success, -1 on error.
 * hal_otp_program returns only once the bytes are durable (this is what makes OK trustworthy). */
int hal_otp_read(uint32_t offset, uint8_t *buf, uint32_t len);
int hal_otp_program(uint32_t offset, const uint8_t *buf, uint32_t len);

/* Configuration: load returns the bytes stored (0 when none, -1 on error); save replaces them
 * atomically and durably (A/B sectors, or your platform's key-value store). 0 on success. */
int hal_config_load(uint8_t *buf, uint32_t len);
int hal_config_save(const uint8_t *buf, uint32_t len);

/* Rework benches only (imprint_device_config.allow_reset): erase OTP and configuration.
 * Real OTP cannot be erased: such devices keep the secret in write-protected flash instead. */
int hal_factory_erase(void);

#endif
