# echo: copy serial input to serial output until a newline, then reset.
# Polls the UART's line status register (DR bit) as a boot loader would.
	.code16
	.globl echo
echo:
1:	mov $0x3fd, %dx
	in %dx, %al
	test $1, %al
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al
	out %al, %dx
	cmp $10, %al
	jne 1b
	mov $0xfe, %al
	out %al, $0x64
	hlt
